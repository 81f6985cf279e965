using System.CommandLine;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Privileges;

namespace Teredo.Cli.Commands;

/// <summary>
/// Every daemon verb's --user NAME: started as root, the daemon opens its TUN, sockets and routes, then
/// becomes NAME keeping only the capabilities its role still needs (docs/systemd.md lists them).
/// </summary>
public static class UserOption
{
    public static Option<string?> Create() => new("--user")
    {
        Description = "Once started as root and set up, run as this user (name or uid; its primary group), keeping only the capabilities this role still needs",
    };

    /// <summary>The drop for <paramref name="user"/>; an unknown user is a configuration error.</summary>
    /// <exception cref="ConfigException">No such user.</exception>
    public static PrivilegeDrop? Resolve(string? user, Capability[] keep, params string?[] writable)
    {
        try { return PrivilegeDrop.Resolve(user, null, keep, writable); }
        catch (InvalidOperationException e) { throw new ConfigException($"--user: {e.Message}"); }
    }
}
