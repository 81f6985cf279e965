namespace Teredo.Hosting.Configuration;

/// <summary>One "Directive value" line of a Miredo-style configuration file.</summary>
public sealed record ConfigDirective(string Name, string Value, int Line);

public sealed class ConfigException(string message) : Exception(message);

/// <summary>
/// The syntax of miredo.conf(5) and miredo-server.conf(5): one directive name per line, optionally
/// followed by white space and a value; blank lines and lines starting with '#' are ignored; names are
/// case-insensitive. Each role declares the directives it knows, and anything else is an error that
/// names the file and line, so that a typo never silently falls back to a default.
/// </summary>
public static class ConfigFile
{
    public static IReadOnlyList<ConfigDirective> Parse(string text, string fileName, IReadOnlySet<string> known)
    {
        var directives = new List<ConfigDirective>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            int split = line.IndexOfAny([' ', '\t']);
            string name = split < 0 ? line : line[..split];
            string value = split < 0 ? "" : line[(split + 1)..].Trim();
            if (!known.Contains(name))
                throw new ConfigException($"{fileName}:{i + 1}: unknown directive '{name}'");
            directives.Add(new ConfigDirective(name, value, i + 1));
        }
        return directives;
    }

    public static IReadOnlyList<ConfigDirective> Load(string path, IReadOnlySet<string> known)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: {e.Message}");
        }
        return Parse(text, path, known);
    }

    /// <summary>"file:line" for a directive from a file; "command line" for one given as an option.</summary>
    public static string Where(ConfigDirective d, string file) => d.Line > 0 ? $"{file}:{d.Line}" : "command line";

    public static HashSet<string> Names(params string[] names) => new(names, StringComparer.OrdinalIgnoreCase);

    /// <summary>Miredo's booleans: yes/no, true/false, on/off, 1/0.</summary>
    public static bool ParseBool(ConfigDirective d, string file) => d.Value.ToLowerInvariant() switch
    {
        "yes" or "true" or "on" or "1" or "enabled" => true,
        "no" or "false" or "off" or "0" or "disabled" => false,
        _ => throw new ConfigException($"{ConfigFile.Where(d, file)}: {d.Name} wants yes or no, not '{d.Value}'"),
    };

    public static int ParseInt(ConfigDirective d, string file, int min, int max) =>
        int.TryParse(d.Value, out int v) && v >= min && v <= max
            ? v
            : throw new ConfigException($"{ConfigFile.Where(d, file)}: {d.Name} wants a number from {min} to {max}, not '{d.Value}'");
}
