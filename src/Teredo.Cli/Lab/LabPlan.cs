namespace Teredo.Cli.Lab;

/// <summary>
/// The lab's address plan as lab/lab.sh declares it (each address once, in the script that builds the
/// topology): <c>lab.sh plan</c> prints NAME=VALUE lines, read here.
/// </summary>
public sealed class LabPlan(IReadOnlyDictionary<string, string> values)
{
    public static LabPlan Load(LabContext lab)
    {
        var r = LabShell.Run("bash", [lab.Script, "plan"], TimeSpan.FromSeconds(10));
        if (!r.Ok) throw new LabException($"{lab.Script} plan failed: {r.Stderr.Trim()}");
        return Parse(r.Stdout);
    }

    public static LabPlan Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = line.IndexOf('=');
            if (eq > 0) values[line[..eq]] = line[(eq + 1)..];
        }
        return new LabPlan(values);
    }

    public string this[string name] =>
        values.TryGetValue(name, out var v) ? v : throw new LabException($"lab.sh plan has no {name}");
}
