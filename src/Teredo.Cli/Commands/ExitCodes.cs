namespace Teredo.Cli.Commands;

/// <summary>What a daemon verb exits with when it does not run: scripts and systemd tell a bad configuration from a failed start.</summary>
public static class ExitCodes
{
    /// <summary>The configuration (file or options) is wrong: nothing was opened.</summary>
    public const int ConfigError = 2;

    /// <summary>The configuration was fine but starting failed (socket, TUN, permissions).</summary>
    public const int StartFailed = 1;
}
