namespace Ferry.Hosting;

/// <summary>Runs every enabled protocol listener of <c>ferry serve</c> over one shared context.</summary>
public sealed class ServerHost : IAsyncDisposable
{
    /// <summary>Protocols by name: the port asked for (null: off) and a factory that binds it (null: unavailable).</summary>
    private static readonly List<(string Name, Func<ServerOptions, int?> Port, Func<ServerContext, int, IProtocolListener?> Create)> s_factories = new();

    private readonly List<IProtocolListener> _listeners = new();
    private StateDirLock? _stateLock;

    private ServerHost(ServerContext context)
    {
        Context = context;
    }

    public ServerContext Context { get; }

    public IReadOnlyList<IProtocolListener> Listeners => _listeners;

    /// <summary>
    /// Adds a protocol to every server started after this call: <paramref name="port"/> reads its port from the
    /// options (null: off), <paramref name="create"/> binds it (or returns null when the protocol is unavailable).
    /// </summary>
    public static void RegisterProtocol(string name, Func<ServerOptions, int?> port, Func<ServerContext, int, IProtocolListener?> create)
    {
        lock (s_factories)
        {
            if (s_factories.Exists(f => f.Name == name))
            {
                return;
            }

            s_factories.Add((name, port, create));
        }
    }

    /// <summary>
    /// Locks the state directory (<see cref="StateDirInUseException"/> when another server holds it), then binds
    /// every enabled listener; throws <see cref="ListenerStartException"/> naming the protocol and port when one
    /// cannot bind (nothing stays bound or locked then).
    /// </summary>
    public static async Task<ServerHost> StartAsync(ServerContext context)
    {
        var host = new ServerHost(context)
        {
            _stateLock = StateDirLock.Acquire(context.Options.StateDir, context.Options.Root),
        };
        (string Name, Func<ServerOptions, int?> Port, Func<ServerContext, int, IProtocolListener?> Create)[] factories;
        lock (s_factories)
        {
            factories = s_factories.ToArray();
        }

        try
        {
            foreach (var factory in factories)
            {
                if (factory.Port(context.Options) is not int port)
                {
                    continue;
                }

                IProtocolListener? listener;
                try
                {
                    listener = factory.Create(context, port);
                }
                catch (System.Net.Sockets.SocketException e)
                {
                    throw new ListenerStartException(factory.Name, port, e.SocketErrorCode, e);
                }

                if (listener is not null)
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
        _stateLock?.Dispose();
        _stateLock = null;
    }
}
