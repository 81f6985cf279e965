using System.Text;
using Teredo.Tests.Support;
using Xunit.Abstractions;

namespace Teredo.Tests.Packaging;

/// <summary>
/// packaging/build-deb's package, built twice (two versions) from the binary CI publishes, checked
/// with dpkg-deb and lintian, then installed, upgraded, removed and purged with dpkg into a throw-away
/// root (--root, its own status database): this machine's dpkg database never sees it. A real install
/// here would remove the miredo, miredo-server and tayga packages the lab needs (the package replaces
/// them); in the throw-away root they are stand-in entries, and the test checks they are replaced.
/// Runs as root only (dpkg writes files owned by root); skips otherwise.
/// </summary>
public sealed class DebianPackageTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Build = TimeSpan.FromMinutes(8);
    private static readonly TimeSpan Short = TimeSpan.FromMinutes(2);
    private static readonly string[] Replaced = ["miredo", "miredo-server", "tayga"];
    private static readonly string[] Roles = ["server", "relay", "client", "coordinator", "v4peer", "v6peer", "nat64"];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Must(string program, params string[] args)
    {
        var (code, stdout, stderr) = RepositoryFiles.Run(program, args, Build);
        output.WriteLine($"$ {program} {string.Join(' ', args)} -> {code}\n{stdout}{stderr}");
        Assert.True(code == 0, $"{program} {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    /// <summary>The Native AOT binary when CI published one (TEREDO_BIN, or artifacts/linux-x64/teredo); null lets build-deb make it.</summary>
    private static string? PublishedBinary()
    {
        foreach (string? candidate in new[]
        {
            Environment.GetEnvironmentVariable("TEREDO_BIN"),
            RepositoryFiles.Root is { } r ? Path.Combine(r, "artifacts", "linux-x64", "teredo") : null,
        })
        {
            // A JIT apphost (teredo.dll beside it) cannot run alone once installed: not a package's binary.
            if (candidate is { Length: > 0 } && File.Exists(candidate) && !File.Exists(Path.Combine(Path.GetDirectoryName(candidate)!, "teredo.dll")))
                return candidate;
        }
        return null;
    }

    private string BuildPackage(string version, string? binary)
    {
        string outDir = Path.Combine(_dir.FullPath, "out");
        var args = new List<string> { "--version", version, "--out", outDir };
        if (binary is not null) args.AddRange(["--binary", binary]);
        Must(Path.Combine(RepositoryFiles.Root!, "packaging", "build-deb"), [.. args]);
        string deb = Path.Combine(outDir, $"teredo_{version}_amd64.deb");
        Assert.True(File.Exists(deb), deb + " was not built");
        return deb;
    }

    /// <summary>The package names in the Depends field of <paramref name="deb"/> (every alternative, versions dropped).</summary>
    private static IEnumerable<string> Dependencies(string deb)
    {
        string depends = RepositoryFiles.Run("dpkg-deb", ["--field", deb, "Depends"], Short).Out;
        foreach (string part in depends.Split([',', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            yield return part.Split(' ', '(')[0];
    }

    /// <summary>An empty dpkg database under <paramref name="root"/> holding copies of this machine's entries for the package's dependencies, plus stand-ins for the packages it replaces.</summary>
    private static void MakeRoot(string root, string deb)
    {
        string admin = Path.Combine(root, "var", "lib", "dpkg");
        foreach (string d in new[] { "info", "updates", "triggers" }) Directory.CreateDirectory(Path.Combine(admin, d));
        File.WriteAllText(Path.Combine(admin, "available"), "");
        var status = new StringBuilder();
        foreach (string dep in Dependencies(deb))
        {
            var (code, stanza, _) = RepositoryFiles.Run("dpkg-query", ["-s", dep], Short);
            if (code != 0) continue;
            // Keep the fields, not the conffile list: nothing of theirs exists under this root.
            foreach (string line in stanza.Split('\n'))
                if (!line.StartsWith("Conffiles:", StringComparison.Ordinal) && !line.StartsWith(" /", StringComparison.Ordinal) && line.Length > 0)
                    status.Append(line).Append('\n');
            status.Append('\n');
            string arch = RepositoryFiles.Run("dpkg-query", ["-W", "-f=${Architecture}", dep], Short).Out;
            File.WriteAllText(Path.Combine(admin, "info", dep + ".list"), "");
            File.WriteAllText(Path.Combine(admin, "info", $"{dep}:{arch}.list"), "");
        }
        foreach (string name in Replaced)
        {
            status.Append($"Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: net\nInstalled-Size: 1\n")
                .Append($"Maintainer: stand-in <stand-in@example.org>\nArchitecture: amd64\nVersion: 1.0-1\nDescription: stand-in for the test\n\n");
            File.WriteAllText(Path.Combine(admin, "info", name + ".list"), "");
        }
        File.WriteAllText(Path.Combine(admin, "status"), status.ToString());
    }

    private string Dpkg(string root, params string[] args) =>
        Must("dpkg", ["--root=" + root, "--force-script-chrootless", "--log=" + Path.Combine(root, "dpkg.log"), .. args]);

    private static string State(string root, string package) =>
        RepositoryFiles.Run("dpkg-query", ["--root=" + root, "-W", "-f=${Status} ${Version}", package], Short).Out.Trim();

    private static string HostState() => RepositoryFiles.Run("dpkg-query", ["-W", "-f=${Status} ${Version}", "teredo"], Short).Out.Trim();

    [SkippableFact]
    public void Builds_lints_installs_upgrades_removes_and_purges_in_a_throw_away_root()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess, "the package test needs root (dpkg installs files owned by root into its throw-away root)");
        string? missing = new[] { "dpkg", "dpkg-deb", "dpkg-query", "pandoc", "man" }.FirstOrDefault(t => !RepositoryFiles.OnPath(t));
        Skip.If(missing is not null, $"{missing} is not installed (scripts/install-deps installs it from lab/apt-packages.txt)");
        Assert.NotNull(RepositoryFiles.Root);
        string hostBefore = HostState();

        string? binary = PublishedBinary();
        string v1 = BuildPackage("1.0", binary);
        string v2 = BuildPackage("1.1", binary);

        // The control fields: a replacement for Miredo's and Tayga's packages, that depends on libc.
        string info = Must("dpkg-deb", "--field", v1, "Package", "Version", "Provides", "Conflicts", "Replaces", "Depends");
        Assert.Contains("Package: teredo", info);
        foreach (string field in new[] { "Provides", "Conflicts", "Replaces" })
        {
            string line = info.Split('\n').Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            foreach (string p in Replaced) Assert.Contains(p, line.Split([':', ',', ' '], StringSplitOptions.RemoveEmptyEntries));
        }
        Assert.Contains("libc6", info);
        string contents = Must("dpkg-deb", "--contents", v1);
        foreach (string path in new[]
        {
            "./usr/bin/teredo", "./usr/sbin/tayga", "./usr/share/man/man8/teredo.8.gz", "./usr/share/man/man5/teredo.conf.5.gz",
            "./usr/share/doc/teredo/copyright", "./usr/share/doc/teredo/changelog.gz", "./usr/share/doc/teredo/metrics.md.gz",
            "./usr/share/doc/teredo/grafana-dashboard.json",
        })
            Assert.Contains(path, contents);
        foreach (string role in Roles) Assert.Contains($"./usr/share/doc/teredo/examples/{role}.conf", contents);
        // Units: every one packaging/systemd holds (none until the systemd work lands is fine), none under /etc (nothing enabled).
        string unitDir = Path.Combine(RepositoryFiles.Root, "packaging", "systemd");
        foreach (string unit in Directory.Exists(unitDir) ? Directory.GetFiles(unitDir, "*.service") : [])
            Assert.Contains("./lib/systemd/system/" + Path.GetFileName(unit), contents);
        Assert.DoesNotContain(contents.Split('\n'), l => l.Contains("./etc/teredo/", StringComparison.Ordinal) && !l.TrimEnd().EndsWith("./etc/teredo/", StringComparison.Ordinal));
        Assert.DoesNotContain("./etc/systemd/", contents);

        if (RepositoryFiles.OnPath("lintian"))
            Must("lintian", "--fail-on", "error,warning", v1);
        else
            output.WriteLine("lintian is not installed: the lint step was skipped (scripts/install-deps installs it)");

        // Install: the stand-ins of miredo, miredo-server and tayga are replaced.
        string root = Path.Combine(_dir.FullPath, "root");
        MakeRoot(root, v1);
        Dpkg(root, "-i", v1);
        Assert.Equal("install ok installed 1.0", State(root, "teredo"));
        foreach (string p in Replaced) Assert.DoesNotContain("install ok installed", State(root, p));
        string teredo = Path.Combine(root, "usr", "bin", "teredo");
        Assert.True(File.Exists(teredo));
        Assert.True(OperatingSystem.IsWindows() || (File.GetUnixFileMode(teredo) & UnixFileMode.UserExecute) != 0);
        // The installed binary runs on its own, and so does the tayga command through it.
        string decoded = Must(teredo, "decode", "2001:0:4136:e378:8000:63bf:3fff:fdd2");
        Assert.Contains("65.54.227.120", decoded);
        Assert.Contains("exec /usr/bin/teredo nat64 \"$@\"", File.ReadAllText(Path.Combine(root, "usr", "sbin", "tayga")));
        Assert.Contains("--nodetach", Must(teredo, "nat64", "--help"));
        // The man pages render.
        foreach (string page in new[] { "man8/teredo.8.gz", "man5/teredo.conf.5.gz" })
        {
            string text = Must("man", "-l", Path.Combine(root, "usr", "share", "man", page));
            Assert.Contains("teredo", text);
            Assert.Contains("Metrics", text);
        }

        // Upgrade in place.
        Dpkg(root, "-i", v2);
        Assert.Equal("install ok installed 1.1", State(root, "teredo"));
        Assert.True(File.Exists(teredo));

        // Remove, then purge: nothing of the package is left.
        Dpkg(root, "-r", "teredo");
        Assert.False(File.Exists(teredo));
        Assert.False(File.Exists(Path.Combine(root, "usr", "share", "man", "man8", "teredo.8.gz")));
        Dpkg(root, "-P", "teredo");
        Assert.DoesNotContain("installed", State(root, "teredo").Replace("not-installed", ""));
        // Nothing left but dpkg's own database and log.
        string[] left = [.. Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f))
            .Where(f => f != "var" && f != "var/lib" && !f.StartsWith("var/lib/dpkg", StringComparison.Ordinal) && f != "dpkg.log")];
        Assert.True(left.Length == 0, "left behind: " + string.Join(", ", left));

        // This machine's own database never saw the package.
        Assert.Equal(hostBefore, HostState());
    }
}
