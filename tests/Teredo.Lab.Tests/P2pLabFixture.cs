namespace Teredo.Lab.Tests;

/// <summary>
/// The lab's `p2p` topology (docs/p2p.md) with the network's fixed parts running: the coordinator on
/// coord and, when the build has it, the IPv6 peer on v6peer. The tests choose the relay (ours or
/// Miredo's) and which IPv4 peers are connected. Skipped with the reason when the lab, its tools or the
/// IPv4 peer are missing; without the IPv6 peer the IPv6 side is host6, a native host that sends to T(D)
/// itself (what v6peer would have rewritten N::D to), and the v6c-only tests skip.
/// </summary>
public sealed class P2pLabFixture() : TopologyFixture("p2p",
    LabFixture.EnvironmentProblem()
    ?? LabFixture.MissingTools("miredo", "unbound", "nginx", "dig", "curl", "socat", "conntrack", "jq", "ss", "ping")
    ?? (HasRole("v4peer", "--pin") ? null : "this build has no 'teredo v4peer' (issue 12)"),
    StartRoles)
{
    private static readonly LabSession Session = new(null);

    private static string? StartRoles()
    {
        if (Session.Run(LabFixture.Long, "coordinator", "coord") is { ExitCode: not 0 } c) return "coordinator: " + c;
        if (V6peerBuilt && Session.Run(LabFixture.Long, "v6peer", "v6peer") is { ExitCode: not 0 } v) return "v6peer: " + v;
        return null;
    }

    /// <summary>Whether the CLI has the role (an unknown verb with --help prints the root's help, so look for an option of its own).</summary>
    private static bool HasRole(string verb, string option) =>
        Lab.Exec(LabSession.Teredo, [verb, "--help"], LabFixture.Short).All.Contains(option, StringComparison.Ordinal);

    private static readonly bool V6peerBuilt = HasRole("v6peer", "--prefix");

    public bool HasV6peer => V6peerBuilt;

    /// <summary>Where the IPv6 side of a flow starts: v6c behind the IPv6 peer, or host6 without one.</summary>
    public string ClientNode => HasV6peer ? "v6c" : "host6";

    /// <summary>host4 as the client addresses it: N::D (v6c) or T(D) (host6).</summary>
    public string Host4Address => HasV6peer ? "2001:db8:6464::c612:64" : "2001:0:c612:28:c6:1200:6400:0";

    /// <summary>The web server's base URL for the client: by name through DNS64, or T(D) literally.</summary>
    public string Web => HasV6peer ? "http://site.example" : "http://[2001:0:c612:28:c6:1200:6400:0]";

    /// <summary>Which relay implementation runs on the relay node ("ours", "miredo", or null before the first test).</summary>
    public string? Relay { get; set; }

    /// <summary>Client nodes whose IPv4 peer is running.</summary>
    public HashSet<string> Peers { get; } = [];

    public void RequireV6peer()
    {
        Require();
        Skip.If(!HasV6peer, "this build has no 'teredo v6peer' (issue 13): the v6c tests need it");
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class P2pLabCollection : ICollectionFixture<P2pLabFixture>
{
    public const string Name = "namespace lab: p2p";
}
