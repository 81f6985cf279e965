namespace Teredo.Lab.Tests;

/// <summary>
/// Brings the lab's "basic" topology up once for the whole collection and tears everything down in
/// Dispose. When the lab cannot run here (not root, no network namespaces, no miredo) it records why,
/// and every test skips with that reason.
/// </summary>
public sealed class LabFixture : IDisposable
{
    public const string Topology = "basic";
    public static readonly TimeSpan Short = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(120);

    public LabFixture()
    {
        SkipReason = WhyUnavailable();
        if (SkipReason is not null)
        {
            return;
        }

        var up = Lab.Run(Long, "up", Topology);
        UpOutput = up.ToString();
        if (up.ExitCode == 3)
        {
            // lab.sh's own refusal: "the lab needs root" / "network namespaces unavailable: ..."
            SkipReason = up.Stderr.Trim();
        }
        else if (up.ExitCode != 0)
        {
            UpFailure = "lab.sh up " + Topology + " failed: " + up;
            Lab.Run(Long, "down");
        }
        else
        {
            IsUp = true;
        }
    }

    /// <summary>Why the lab cannot run on this machine, or null.</summary>
    public string? SkipReason { get; }

    /// <summary>Set when the environment looked fine but the topology failed to come up (a real failure).</summary>
    public string? UpFailure { get; }

    public string UpOutput { get; } = "";

    /// <summary>False once a test tore the topology down itself.</summary>
    public bool IsUp { get; set; }

    /// <summary>Call first in every test: skips, or fails when bring-up failed.</summary>
    public void Require()
    {
        Skip.If(SkipReason is not null, SkipReason);
        Assert.True(UpFailure is null, UpFailure);
    }

    /// <summary>Brings the topology back when an earlier test tore it down (tests may be run alone).</summary>
    public void EnsureUp()
    {
        Require();
        if (!IsUp)
        {
            var up = Lab.Run(Long, "up", Topology);
            Assert.True(up.ExitCode == 0, "lab.sh up failed: " + up);
            IsUp = true;
        }
    }

    private static string? WhyUnavailable()
    {
        if (EnvironmentProblem() is { } problem)
        {
            return problem;
        }

        if (!Lab.OnPath("miredo") || !Lab.OnPath("miredo-server"))
        {
            return "miredo / miredo-server are not installed (apt-get install miredo miredo-server; see lab/apt-packages.txt)";
        }

        return MissingTools("socat", "conntrack", "iptables", "ping", "jq", "ss");
    }

    /// <summary>Why no topology can run here at all (not Linux, no lab.sh, not root, no ip netns), or null; every lab fixture starts with it.</summary>
    public static string? EnvironmentProblem()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "the lab needs Linux network namespaces";
        }

        if (Lab.Script is null)
        {
            return "lab/lab.sh not found in any folder above " + AppContext.BaseDirectory;
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "the lab needs root (it creates network namespaces): run the tests as root";
        }

        if (!Lab.OnPath("ip"))
        {
            return "iproute2 (ip) is not installed";
        }

        var probe = Lab.Exec("ip", ["netns", "list"], LabFixture.Short);
        if (probe.ExitCode != 0)
        {
            return "ip netns is unavailable: " + probe.Stderr.Trim();
        }

        return null;
    }

    /// <summary>"missing lab tools: ..." for the tools not on PATH, or null.</summary>
    public static string? MissingTools(params string[] tools)
    {
        var missing = tools.Where(t => !Lab.OnPath(t)).ToArray();
        return missing.Length > 0 ? "missing lab tools: " + string.Join(", ", missing) + " (see lab/apt-packages.txt)" : null;
    }

    public void Dispose()
    {
        if (SkipReason is null && Lab.Script is not null)
        {
            // idempotent: also fine when a test already tore everything down
            Lab.Run(Long, "down");
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection : ICollectionFixture<LabFixture>
{
    public const string Name = "namespace lab";
}
