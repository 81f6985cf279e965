using System.Diagnostics;
using System.Net;
using System.Runtime.Versioning;
using System.Text;

[assembly: SupportedOSPlatform("linux")]

namespace Teredo.Lab.Tests;

/// <summary>Result of one command: exit status and both output streams.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public string All => Stdout + Stderr;

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
}

/// <summary>Runs lab/lab.sh (and a few plain tools) with a deadline.</summary>
public static class Lab
{
    /// <summary>Absolute path of lab/lab.sh, or null when no folder above the test binaries holds it.</summary>
    public static string? Script { get; } = FindScript();

    private static string? FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "lab", "lab.sh");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static CommandResult Run(TimeSpan timeout, params string[] args)
    {
        if (Script is null)
        {
            throw new InvalidOperationException("lab/lab.sh not found above " + AppContext.BaseDirectory);
        }

        return Exec("bash", [Script, .. args], timeout);
    }

    /// <summary>lab.sh exec NODE -- CMD...</summary>
    public static CommandResult InNode(string node, TimeSpan timeout, params string[] command)
        => Run(timeout, ["exec", node, "--", .. command]);

    /// <summary>lab.sh with extra environment variables (a null value removes the variable).</summary>
    public static CommandResult RunWithEnv(TimeSpan timeout, IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        if (Script is null)
        {
            throw new InvalidOperationException("lab/lab.sh not found above " + AppContext.BaseDirectory);
        }

        return Exec("bash", [Script, .. args], timeout, env);
    }

    public static CommandResult Exec(
        string file, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string?>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            if (v is null)
            {
                psi.Environment.Remove(k);
            }
            else
            {
                psi.Environment[k] = v;
            }
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + file);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            try
            {
                p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }

            p.WaitForExit(5000);
            throw new TimeoutException(
                $"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {timeout.TotalSeconds} s");
        }

        p.WaitForExit();
        // A daemon that kept our pipes open would block EOF: don't wait for it forever.
        Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(10));
        return new CommandResult(
            p.ExitCode,
            stdout.IsCompletedSuccessfully ? stdout.Result : "",
            stderr.IsCompletedSuccessfully ? stderr.Result : "");
    }

    public static bool OnPath(string tool)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var dirs = path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        return dirs.Any(d => File.Exists(Path.Combine(d, tool)));
    }

    /// <summary>key=value pairs from lines like "a=1 b=2".</summary>
    public static Dictionary<string, string> KeyValues(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var token in text.Split([' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && !token.StartsWith("src=", StringComparison.Ordinal)
                && !token.StartsWith("dst=", StringComparison.Ordinal)
                && !token.StartsWith("sport=", StringComparison.Ordinal)
                && !token.StartsWith("dport=", StringComparison.Ordinal))
            {
                result[token[..eq]] = token[(eq + 1)..];
            }
        }

        return result;
    }
}

/// <summary>What a Teredo address carries (RFC 4380 §4), decoded here so the tests need no project reference.</summary>
public sealed record TeredoAddress(IPAddress Server, ushort Flags, int MappedPort, IPAddress MappedAddress)
{
    public bool Cone => (Flags & 0x8000) != 0;

    public static TeredoAddress Parse(string text)
    {
        var b = IPAddress.Parse(text).GetAddressBytes();
        if (b.Length != 16 || b[0] != 0x20 || b[1] != 0x01 || b[2] != 0 || b[3] != 0)
        {
            throw new FormatException(text + " is not in 2001:0::/32");
        }

        var server = new IPAddress(b.AsSpan(4, 4));
        var flags = (ushort)((b[8] << 8) | b[9]);
        var port = ((b[10] << 8) | b[11]) ^ 0xffff;
        var mapped = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            mapped[i] = (byte)(b[12 + i] ^ 0xff);
        }

        return new TeredoAddress(server, flags, port, new IPAddress(mapped));
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("server ").Append(Server).Append(", flags 0x").Append(Flags.ToString("x4", System.Globalization.CultureInfo.InvariantCulture))
          .Append(Cone ? " (cone)" : " (not cone)").Append(", mapped ").Append(MappedAddress).Append(':').Append(MappedPort);
        return sb.ToString();
    }
}
