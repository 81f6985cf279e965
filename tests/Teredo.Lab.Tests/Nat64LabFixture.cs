namespace Teredo.Lab.Tests;

/// <summary>
/// The lab's `nat64` topology (host6 → translator host nat64 → host4) for the NAT64 tests, brought up
/// once and torn down after them; skipped with the reason when the lab or its tools (tayga among them,
/// the reference the same tests run against) are missing, like <see cref="LabFixture"/>.
/// </summary>
public sealed class Nat64LabFixture : IDisposable
{
    public const string Topology = "nat64";

    public Nat64LabFixture()
    {
        SkipReason = LabFixture.EnvironmentProblem() ?? LabFixture.MissingTools("tayga", "socat", "ping", "jq");
        if (SkipReason is not null) return;
        var up = Lab.Run(LabFixture.Long, "up", Topology);
        if (up.ExitCode == 3) SkipReason = up.Stderr.Trim();
        else if (up.ExitCode != 0)
        {
            UpFailure = "lab.sh up nat64 failed: " + up;
            Lab.Run(LabFixture.Long, "down");
        }
    }

    public string? SkipReason { get; }

    public string? UpFailure { get; }

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
public sealed class Nat64LabCollection : ICollectionFixture<Nat64LabFixture>
{
    public const string Name = "namespace lab: nat64";
}
