using System.CommandLine;
using System.Text.Json;
using Teredo.Addressing;

namespace Teredo.Cli.Commands;

/// <summary><c>teredo decode ADDRESS [--json]</c>: what a Teredo (or coordinator-plan) address says.</summary>
public static class DecodeCommand
{
    public const int ExitNotDecodable = 2;

    public static Command Create()
    {
        var address = new Argument<string>("address") { Description = "An IPv6 address, e.g. 2001:0:4136:e378:8000:63bf:3fff:fdd2" };
        var json = new Option<bool>("--json") { Description = "Print a stable JSON object instead of text" };
        var command = new Command("decode", "Decode a Teredo address: server, flags, mapped port and IPv4; and its reading under the coordinator plan")
        {
            address,
            json,
        };
        command.SetAction(result => Run(result.GetValue(address)!, result.GetValue(json), Console.Out, Console.Error));
        return command;
    }

    public static int Run(string input, bool json, TextWriter output, TextWriter error)
    {
        var decoding = AddressDecoder.Decode(input);
        if (json)
        {
            output.WriteLine(ToJson(decoding));
            return decoding.Error is null ? 0 : ExitNotDecodable;
        }
        if (decoding.Error is not null)
        {
            error.WriteLine($"teredo decode: {decoding.Error}");
            return ExitNotDecodable;
        }
        WriteText(decoding, output);
        return 0;
    }

    private static void WriteText(AddressDecoding d, TextWriter o)
    {
        var t = d.Teredo!;
        o.WriteLine($"Address:        {d.Address}");
        o.WriteLine("As a Teredo address (RFC 4380):");
        o.WriteLine($"  Server IPv4:  {t.Server}");
        o.WriteLine($"  Flags:        {t.Flags} (cone bit {(t.Flags.IsCone ? "set: cone NAT" : "clear: restricted or unknown NAT")}, random bits 0x{t.Flags.RandomBits:x3})");
        o.WriteLine($"  Mapped port:  {t.Mapped.Port}");
        o.WriteLine($"  Mapped IPv4:  {t.Mapped.Address}");
        foreach (string remark in t.Remarks) o.WriteLine($"  Note:         {remark}");
        if (d.Coordinator is { } c)
        {
            o.WriteLine("Under the coordinator plan (P2P NAT64, RFC 6052 /64):");
            if (c.Address is { } a)
            {
                o.WriteLine($"  Coordinator:   {a.Coordinator}");
                o.WriteLine($"  Kind:          {(a.Kind == CoordinatorAddressKind.Dynamic ? "dynamic (NAT64 destination)" : "static (an IPv4 peer's own host)")}");
                o.WriteLine($"  Embedded IPv4: {a.Embedded}");
                o.WriteLine($"  Suffix:        0x{a.Suffix:x6}");
            }
            else
            {
                o.WriteLine($"  Not a valid plan address: {c.NotValidBecause}");
            }
        }
    }

    /// <summary>The JSON shape is a contract for scripts: add fields, never rename or remove them.</summary>
    public static string ToJson(AddressDecoding d)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("input", d.Input);
            if (d.Address is { } address) w.WriteString("address", address.ToString()); else w.WriteNull("address");
            if (d.Error is not null) w.WriteString("error", d.Error); else w.WriteNull("error");
            if (d.Teredo is { } t)
            {
                w.WriteStartObject("teredo");
                w.WriteString("server", t.Server.ToString());
                w.WriteString("flags", t.Flags.ToString());
                w.WriteBoolean("cone", t.Flags.IsCone);
                w.WriteNumber("randomBits", t.Flags.RandomBits);
                w.WriteNumber("mappedPort", t.Mapped.Port);
                w.WriteString("mappedAddress", t.Mapped.Address.ToString());
                w.WriteStartArray("remarks");
                foreach (string r in t.Remarks) w.WriteStringValue(r);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else w.WriteNull("teredo");
            if (d.Coordinator is { } c)
            {
                w.WriteStartObject("coordinator");
                w.WriteBoolean("valid", c.Address is not null);
                if (c.Address is { } a)
                {
                    w.WriteString("kind", a.Kind == CoordinatorAddressKind.Dynamic ? "dynamic" : "static");
                    w.WriteString("coordinator", a.Coordinator.ToString());
                    w.WriteString("embeddedIpv4", a.Embedded.ToString());
                    w.WriteNumber("suffix", a.Suffix);
                }
                else w.WriteString("reason", c.NotValidBecause);
                w.WriteEndObject();
            }
            else w.WriteNull("coordinator");
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
