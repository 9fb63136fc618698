using Ferry.Files;

namespace Ferry.Tests.Files;

/// <summary>A file engine over a fresh root and state dir (both under one temp dir).</summary>
internal sealed class EngineFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public EngineFixture(bool allowOverwrite = false, long margin = 0)
    {
        Root = _dir.Combine("root");
        StateDir = _dir.Combine("state");
        Engine = new FileEngine(new FileEngineOptions
        {
            Root = Root,
            StateDir = StateDir,
            AllowOverwrite = allowOverwrite,
            FreeSpaceMargin = margin,
        });
    }

    public string Root { get; }

    public string StateDir { get; }

    public string Outside => _dir.Path;

    public FileEngine Engine { get; }

    public string InRoot(string relative) => Path.Combine(Root, relative);

    public void Dispose() => _dir.Dispose();
}
