namespace Teredo.Lab.Tests;

/// <summary>
/// The lab's `p2p` topology (docs/p2p.md) with the network's fixed parts running: the coordinator on
/// coord and, when the build has it, the IPv6 peer on v6peer. The tests choose the relay (ours or
/// Miredo's) and which IPv4 peers are connected. Skipped with the reason when the lab, its tools or the
/// IPv4 peer are missing; without the IPv6 peer the IPv6 side is host6, a native host that sends to T(D)
/// itself (what v6peer would have rewritten N::D to), and the v6c-only tests skip.
/// </summary>
public sealed class P2pLabFixture : IDisposable
{
    public const string Topology = "p2p";

    public P2pLabFixture()
    {
        SkipReason = LabFixture.EnvironmentProblem()
            ?? LabFixture.MissingTools("miredo", "unbound", "nginx", "dig", "curl", "socat", "conntrack", "jq", "ss", "ping")
            ?? (HasRole("v4peer", "--pin") ? null : "this build has no 'teredo v4peer' (issue 12)");
        if (SkipReason is not null) return;
        var up = Lab.Run(LabFixture.Long, "up", Topology);
        if (up.ExitCode == 3)
        {
            SkipReason = up.Stderr.Trim();
            return;
        }
        if (up.ExitCode != 0) UpFailure = "lab.sh up p2p failed: " + up;
        else if (Session.Run(LabFixture.Long, "coordinator", "coord") is { ExitCode: not 0 } c) UpFailure = "coordinator: " + c;
        else if (HasV6peer && Session.Run(LabFixture.Long, "v6peer", "v6peer") is { ExitCode: not 0 } v) UpFailure = "v6peer: " + v;
        if (UpFailure is not null) Lab.Run(LabFixture.Long, "down");
    }

    /// <summary>Whether the CLI has the role (an unknown verb with --help prints the root's help, so look for an option of its own).</summary>
    private static bool HasRole(string verb, string option) =>
        Lab.Exec(LabSession.Teredo, [verb, "--help"], LabFixture.Short).All.Contains(option, StringComparison.Ordinal);

    public bool HasV6peer { get; } = HasRole("v6peer", "--prefix");

    /// <summary>Where the IPv6 side of a flow starts: v6c behind the IPv6 peer, or host6 without one.</summary>
    public string ClientNode => HasV6peer ? "v6c" : "host6";

    /// <summary>host4 as the client addresses it: N::D (v6c) or T(D) (host6).</summary>
    public string Host4Address => HasV6peer ? "2001:db8:6464::c612:64" : "2001:0:c612:28:c6:1200:6400:0";

    /// <summary>The web server's base URL for the client: by name through DNS64, or T(D) literally.</summary>
    public string Web => HasV6peer ? "http://site.example" : "http://[2001:0:c612:28:c6:1200:6400:0]";

    public void RequireV6peer()
    {
        Require();
        Skip.If(!HasV6peer, "this build has no 'teredo v6peer' (issue 13): the v6c tests need it");
    }

    public string? SkipReason { get; }

    public string? UpFailure { get; }

    public LabSession Session { get; } = new(null);

    /// <summary>Which relay implementation runs on the relay node ("ours", "miredo", or null before the first test).</summary>
    public string? Relay { get; set; }

    /// <summary>Client nodes whose IPv4 peer is running.</summary>
    public HashSet<string> Peers { get; } = [];

    public void Require()
    {
        Skip.If(SkipReason is not null, SkipReason);
        Assert.True(UpFailure is null, UpFailure);
    }

    public void Dispose()
    {
        if (SkipReason is null) Lab.Run(LabFixture.Long, "down");
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class P2pLabCollection : ICollectionFixture<P2pLabFixture>
{
    public const string Name = "namespace lab: p2p";
}
