namespace Teredo.Cli.Lab;

/// <summary>
/// What every lab step shares with lab/lab.sh: the state folder (TLAB_STATE, default /run/tlab, one folder
/// per node), the namespace names (tlab-NODE), the script that owns the topology, and the CLI that runs
/// this project's daemons (TEREDO_BIN, a command line such as "/usr/bin/teredo" or "dotnet teredo.dll").
/// </summary>
public sealed class LabContext
{
    public const string NamespacePrefix = "tlab-";

    public LabContext(string state, string script, string? teredoBin, TextWriter log)
    {
        State = state;
        Script = script;
        TeredoBin = string.IsNullOrWhiteSpace(teredoBin) ? null : teredoBin.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Log = log;
    }

    /// <summary>From the environment lab.sh (or <c>teredo lab</c>) hands over.</summary>
    public static LabContext FromEnvironment(TextWriter log) => new(
        Environment.GetEnvironmentVariable("TLAB_STATE") is { Length: > 0 } s ? s : "/run/tlab",
        Environment.GetEnvironmentVariable("TLAB_SCRIPT") is { Length: > 0 } p ? p : Commands.LabCommand.ScriptPath,
        Environment.GetEnvironmentVariable("TEREDO_BIN"),
        log);

    public string State { get; }
    public string Script { get; }
    /// <summary>The CLI's command line split into words, or null when this project's daemons are unavailable.</summary>
    public string[]? TeredoBin { get; }
    /// <summary>Where progress lines go ("lab: ..." on stderr, or a demo group's buffer).</summary>
    public TextWriter Log { get; }

    public LabContext WithLog(TextWriter log) => new(State, Script, TeredoBin is null ? null : string.Join(' ', TeredoBin), log);

    public static string Node(string name) => name.StartsWith(NamespacePrefix, StringComparison.Ordinal) ? name[NamespacePrefix.Length..] : name;
    public static string Namespace(string node) => NamespacePrefix + Node(node);
    public static bool NodeExists(string node) => File.Exists("/run/netns/" + Namespace(node));

    public string NodeDir(string node) => Path.Combine(State, Node(node));
    public string NodeFile(string node, string name) => Path.Combine(NodeDir(node), name);
    public string? ReadNodeFile(string node, string name) =>
        File.Exists(NodeFile(node, name)) ? File.ReadAllText(NodeFile(node, name)).Trim() : null;

    public void Say(string message) => Log.WriteLine("lab: " + message);

    public string[] RequireTeredo() =>
        TeredoBin ?? throw new LabException("TEREDO_BIN is not set (run this through 'teredo lab')");

    /// <summary>A command inside a node's namespace: ip netns exec tlab-NODE CMD...</summary>
    public static string[] InNode(string node, params string[] command) => ["ip", "netns", "exec", Namespace(node), .. command];

    public static ShellResult RunIn(string node, TimeSpan timeout, params string[] command) =>
        LabShell.Run("ip", ["netns", "exec", Namespace(node), .. command], timeout);

    /// <summary>`ip -n tlab-NODE ARGS...` (no process inside the namespace).</summary>
    public static ShellResult Ip(string node, params string[] args) =>
        LabShell.Run("ip", ["-n", Namespace(node), .. args], TimeSpan.FromSeconds(10));

    /// <summary>The first global IPv4 address of NODE (on DEVICE when given), or null.</summary>
    public static string? Ipv4Of(string node, string? device = null)
    {
        var r = Ip(node, device is null ? ["-4", "-o", "addr", "show", "scope", "global"] : ["-4", "-o", "addr", "show", "dev", device]);
        foreach (string line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int i = Array.IndexOf(words, "inet");
            if (i >= 0 && i + 1 < words.Length) return words[i + 1].Split('/')[0];
        }
        return null;
    }
}

/// <summary>A lab step that cannot go on; its message is what the user sees after "lab: ".</summary>
public sealed class LabException(string message) : Exception(message);
