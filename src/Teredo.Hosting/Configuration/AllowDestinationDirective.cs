using Teredo.P2p.Coordinator;

namespace Teredo.Hosting.Configuration;

/// <summary>
/// <c>AllowDestination</c> lines (several CIDRs per line, space or comma separated) plus the command line's
/// <c>--allow-destination</c> values: the RFC 6890 exceptions the coordinator and the IPv4 peer both take.
/// </summary>
public static class AllowDestinationDirective
{
    public const string Name = "AllowDestination";

    public static List<Ipv4Prefix> Read(ConfigValues config, IEnumerable<string>? commandLine)
    {
        var allow = new List<Ipv4Prefix>();
        void Add(string value, string where)
        {
            foreach (string item in value.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries))
                allow.Add(Ipv4Prefix.TryParse(item, out var prefix) ? prefix
                    : throw new ConfigException($"{where}: {Name} wants an IPv4 CIDR such as 198.18.0.0/15, not '{item}'"));
        }
        foreach (var d in config.GetAll(Name)) Add(d.Value, config.Where(d));
        foreach (string v in commandLine ?? []) Add(v, "command line");
        return allow;
    }
}
