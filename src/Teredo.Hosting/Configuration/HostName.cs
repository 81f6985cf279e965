namespace Teredo.Hosting.Configuration;

/// <summary>
/// A directive that names a host rather than giving its address (miredo.conf(5) allows a name for
/// ServerAddress). The configuration only parses, so it keeps the name and where it was written;
/// <see cref="Addresses.HostResolution"/> looks it up when the daemon is about to start.
/// </summary>
public sealed record HostName(string Name, string Directive, string Where);
