namespace Teredo.Lab.Tests;

/// <summary>
/// The lab's `p2p` topology (docs/p2p.md) with the network's fixed parts running: the coordinator on
/// coord and the IPv6 peer on v6peer. The tests choose the relay (ours or Miredo's) and which IPv4 peers
/// are connected. Skipped with the reason when the lab, its tools or the P2P roles are missing.
/// </summary>
public sealed class P2pLabFixture : IDisposable
{
    public const string Topology = "p2p";

    public P2pLabFixture()
    {
        SkipReason = LabFixture.EnvironmentProblem()
            ?? LabFixture.MissingTools("miredo", "unbound", "nginx", "dig", "curl", "socat", "conntrack", "jq", "ss", "ping")
            ?? MissingRoles();
        if (SkipReason is not null) return;
        var up = Lab.Run(LabFixture.Long, "up", Topology);
        if (up.ExitCode == 3)
        {
            SkipReason = up.Stderr.Trim();
            return;
        }
        if (up.ExitCode != 0) UpFailure = "lab.sh up p2p failed: " + up;
        else if (Session.Run(LabFixture.Long, "coordinator", "coord") is { ExitCode: not 0 } c) UpFailure = "coordinator: " + c;
        else if (Session.Run(LabFixture.Long, "v6peer", "v6peer") is { ExitCode: not 0 } v) UpFailure = "v6peer: " + v;
        if (UpFailure is not null) Lab.Run(LabFixture.Long, "down");
    }

    /// <summary>The roles are other branches' work: until they are in this build the tests say so and skip.</summary>
    private static string? MissingRoles()
    {
        var v4 = Lab.Exec(LabSession.Teredo, ["v4peer", "--help"], LabFixture.Short);
        var v6 = Lab.Exec(LabSession.Teredo, ["v6peer", "--help"], LabFixture.Short);
        return v4.All.Contains("--pin", StringComparison.Ordinal) && v6.All.Contains("--prefix", StringComparison.Ordinal)
            ? null
            : "this build has no 'teredo v4peer' / 'teredo v6peer' (issues 12 and 13)";
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
