namespace Ferry.Tests.Fuzz;

/// <summary>
/// The one list of hostile client paths every mode is checked against. Each server root under test holds a
/// symlink "out" to /etc (so "out/passwd" leaves the root through a link) and a regular file "ok.bin".
/// </summary>
internal static class HostilePaths
{
    public static IReadOnlyList<(string Name, string Path)> All { get; } =
    [
        ("traversal", "../escape.bin"),
        ("nested traversal", "a/../../escape.bin"),
        ("dot-dot alone", ".."),
        ("absolute", "/etc/passwd"),
        ("symlink out of the root", "out/passwd"),
        ("backslash", "dir\\file"),
        ("windows traversal", "..\\..\\escape.bin"),
        ("overlong name (256 bytes)", new string('n', 256)),
        ("overlong path (4097 bytes)", string.Join('/', Enumerable.Repeat(new string('p', 63), 65)) + "/xx"),
        ("NUL", "nul\0byte"),
        ("control character", "bell\u0007char"),
        ("escape character", "esc\u001b[2Jname"),
        ("DEL", "del\u007fname"),
        ("empty", string.Empty),
        ("dot", "."),
        ("dot segment", "./ok.bin"),
        ("trailing slash", "dir/"),
        ("double slash", "a//b"),
    ];

    /// <summary>The names, for theories.</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in All)
        {
            data.Add(name);
        }

        return data;
    }

    public static string Get(string name) => All.Single(p => p.Name == name).Path;

    /// <summary>Creates the "out" symlink and "ok.bin" in <paramref name="root"/>.</summary>
    public static void Prepare(string root)
    {
        Directory.CreateDirectory(root);
        Directory.CreateSymbolicLink(Path.Combine(root, "out"), "/etc");
        File.WriteAllBytes(Path.Combine(root, "ok.bin"), new byte[10]);
    }
}
