namespace Teredo.Lab.Tests;

/// <summary>
/// The lab's `nat64` topology (host6 → translator host nat64 → host4) for the NAT64 tests, brought up
/// once and torn down after them; skipped with the reason when the lab or its tools (tayga among them,
/// the reference the same tests run against) are missing, like <see cref="LabFixture"/>.
/// </summary>
public sealed class Nat64LabFixture() : TopologyFixture(Topology,
    LabFixture.EnvironmentProblem() ?? LabFixture.MissingTools("tayga", "socat", "ping", "jq"))
{
    public const string Topology = "nat64";
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Nat64LabCollection : ICollectionFixture<Nat64LabFixture>
{
    public const string Name = "namespace lab: nat64";
}
