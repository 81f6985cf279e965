namespace Teredo.Hosting.Nat64;

/// <summary>What Tayga's command line asks of the process once the translator runs: -p PIDFILE (-u and -g are the host's PrivilegeDrop).</summary>
public sealed record Nat64ProcessOptions(string? PidFile = null);
