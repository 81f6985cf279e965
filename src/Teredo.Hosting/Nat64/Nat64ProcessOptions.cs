namespace Teredo.Hosting.Nat64;

/// <summary>What Tayga's command line asks of the process once the translator runs: -p PIDFILE, -u USER, -g GROUP.</summary>
public sealed record Nat64ProcessOptions(string? PidFile = null, uint? Uid = null, uint? Gid = null);
