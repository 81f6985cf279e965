namespace Teredo.Lab.Tests;

/// <summary>
/// One lab topology brought up for a test collection and torn down after it: skipped with the reason
/// when the environment cannot run it (<paramref name="skipReason"/>, or lab.sh's own refusal, exit 3),
/// failed with lab.sh's output when it should have come up and did not. <paramref name="start"/> runs
/// the topology's long-lived parts once it is up and returns why they failed, or null.
/// </summary>
public abstract class TopologyFixture : IDisposable
{
    protected TopologyFixture(string topology, string? skipReason, Func<string?>? start = null)
    {
        SkipReason = skipReason;
        if (SkipReason is not null) return;
        var up = Lab.Run(LabFixture.Long, "up", topology);
        if (up.ExitCode == 3) SkipReason = up.Stderr.Trim();
        else if (up.ExitCode != 0) UpFailure = $"lab.sh up {topology} failed: " + up;
        else UpFailure = start?.Invoke();
        if (UpFailure is not null) Lab.Run(LabFixture.Long, "down");
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
        GC.SuppressFinalize(this);
    }
}
