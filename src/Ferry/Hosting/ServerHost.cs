namespace Ferry.Hosting;

/// <summary>Runs every enabled protocol listener of <c>ferry serve</c> over one shared context.</summary>
public sealed class ServerHost : IAsyncDisposable
{
    /// <summary>Protocol factories; each returns null when its port is not configured.</summary>
    private static readonly List<Func<ServerContext, IProtocolListener?>> s_factories = new();

    private readonly List<IProtocolListener> _listeners = new();

    private ServerHost(ServerContext context)
    {
        Context = context;
    }

    public ServerContext Context { get; }

    public IReadOnlyList<IProtocolListener> Listeners => _listeners;

    /// <summary>Adds a protocol to every server started after this call.</summary>
    public static void RegisterProtocol(Func<ServerContext, IProtocolListener?> factory)
    {
        lock (s_factories)
        {
            s_factories.Add(factory);
        }
    }

    /// <summary>Binds every enabled listener; throws when a port is taken (nothing stays bound then).</summary>
    public static async Task<ServerHost> StartAsync(ServerContext context)
    {
        var host = new ServerHost(context);
        Func<ServerContext, IProtocolListener?>[] factories;
        lock (s_factories)
        {
            factories = s_factories.ToArray();
        }

        try
        {
            foreach (var factory in factories)
            {
                if (factory(context) is { } listener)
                {
                    host._listeners.Add(listener);
                }
            }
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return host;
    }

    /// <summary>Serves until cancelled; a listener that fails stops the whole server.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = _listeners.Select(l => Task.Run(() => l.RunAsync(linked.Token), CancellationToken.None)).ToList();
        if (tasks.Count == 0)
        {
            return;
        }

        var first = await Task.WhenAny(tasks).ConfigureAwait(false);
        linked.Cancel();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        if (first.IsFaulted && !cancellationToken.IsCancellationRequested)
        {
            await first.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var l in _listeners)
        {
            await l.DisposeAsync().ConfigureAwait(false);
        }

        _listeners.Clear();
    }
}
