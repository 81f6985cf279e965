namespace Teredo.Cli.Lab;

/// <summary>
/// A launcher's arguments after NODE: the options the lab itself reads (each with a value, or a flag),
/// and the rest, which a launcher of this project's daemons passes on to the daemon unchanged and a
/// Miredo launcher refuses.
/// </summary>
public sealed class LaunchArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public List<string> Rest { get; } = [];
    /// <summary>Words before the first option (tayga's implementation name).</summary>
    public List<string> Positional { get; } = [];

    public static LaunchArgs Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> valued, IReadOnlyCollection<string> flags)
    {
        var r = new LaunchArgs();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                r.Rest.AddRange(args.Skip(i + 1));
                break;
            }
            if (valued.Contains(a))
            {
                if (i + 1 >= args.Count) throw new LabException($"{a} needs a value");
                r._values[a] = args[++i];
            }
            else if (flags.Contains(a)) r._flags.Add(a);
            else if (r.Rest.Count == 0 && !a.StartsWith('-')) r.Positional.Add(a);
            else r.Rest.Add(a);
        }
        return r;
    }

    public string? Value(string option) => _values.GetValueOrDefault(option);
    public bool Flag(string option) => _flags.Contains(option);
}
