using System.Text.Json;
using Teredo.Common;

namespace Teredo.Hosting.Control;

/// <summary>Pieces every daemon's status document shares, so that scripts see one naming scheme.</summary>
public static class StatusJson
{
    /// <summary>Writes <c>"counters": { "camelCaseName": value, ... }</c>, then any extra host-side counters.</summary>
    public static void WriteCounters<TCounter>(Utf8JsonWriter json, Func<TCounter, long> value, params (string Name, long Value)[] extra)
        where TCounter : struct, Enum
    {
        json.WriteStartObject("counters");
        foreach (var c in CounterSet<TCounter>.All) json.WriteNumber(JsonNamingPolicy.CamelCase.ConvertName(c.ToString()), value(c));
        foreach (var (name, v) in extra) json.WriteNumber(name, v);
        json.WriteEndObject();
    }

    /// <summary>Renders a status document built by <paramref name="write"/> as indented UTF-8 JSON text.</summary>
    public static string Build(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
