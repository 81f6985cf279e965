namespace Teredo.Hosting.Configuration;

/// <summary>
/// The directives of one role as the daemon sees them: a Miredo-syntax file (validated against the
/// role's known names) with command-line options laid over it. Errors name the file and line, or the
/// command line for options.
/// </summary>
public sealed class ConfigValues
{
    private readonly Dictionary<string, ConfigDirective> _values = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<ConfigDirective> _all = [];

    private ConfigValues(string file) => File = file;

    /// <summary>The file's path, or "(command line)" when there is none: the prefix of error messages.</summary>
    public string File { get; }

    public static ConfigValues Load(string? path, IReadOnlySet<string> known, Action<Dictionary<string, string>>? overrides)
    {
        var config = new ConfigValues(path ?? "(command line)");
        if (path is not null)
            foreach (var d in ConfigFile.Load(path, known))
            {
                config._values[d.Name] = d;
                config._all.Add(d);
            }
        if (overrides is not null)
        {
            var o = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            overrides(o);
            foreach (var (k, v) in o)
            {
                config._values[k] = new ConfigDirective(k, v, 0);
                config._all.RemoveAll(d => d.Name.Equals(k, StringComparison.OrdinalIgnoreCase));
                config._all.Add(config._values[k]);
            }
        }
        return config;
    }

    public ConfigDirective? Get(string name) => _values.GetValueOrDefault(name);

    /// <summary>Every occurrence of a repeatable directive, in file order (an option replaces them all).</summary>
    public IEnumerable<ConfigDirective> GetAll(string name) => _all.Where(d => d.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    public int Int(string name, int min, int max, int fallback) => Get(name) is { } d ? ConfigFile.ParseInt(d, File, min, max) : fallback;

    public bool Bool(string name, bool fallback) => Get(name) is { } d ? ConfigFile.ParseBool(d, File) : fallback;

    public string Where(ConfigDirective d) => ConfigFile.Where(d, File);
}
