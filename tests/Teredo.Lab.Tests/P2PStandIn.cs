using System.Net;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// The throw-away coordinator (198.18.0.30 on srv) and IPv4 peer (behind the symmetric NAT, in clsym)
/// of tests/Teredo.LabTools, and the issue 16 measurement made through them: pings to T(D) for
/// destinations whose T(D) seems to embed a global "mapping" and destinations whose T(D) does not.
/// The peer answers echo requests for any T(D) it is handed, so D need not be a host.
/// </summary>
public sealed class P2PStandIn(LabSession session, ITestOutputHelper output)
{
    public const string Coordinator = "198.18.0.30";

    /// <summary>
    /// D's last octet makes the "mapped address" T(D) seems to embed (255 - D[3]).255.255.255: global
    /// for 100 and 8, not for 17 (multicast), 128 (loopback) and 0 (limited broadcast).
    /// </summary>
    public static readonly string[] Destinations = ["198.18.0.100", "198.18.0.8", "198.18.0.17", "198.18.0.128", "198.18.0.0"];

    public sealed record Row(string D, string Target, string Mapped, int Received);

    /// <summary>Starts the coordinator and the peer (for <paramref name="seconds"/>) and waits for the peer to register.</summary>
    public void Start(int seconds = 120)
    {
        Lab.InNode("srv", LabFixture.Short, "ip", "addr", "add", Coordinator + "/15", "dev", "eth4");
        session.MustRun(LabFixture.Short, "start", "srv", "p2p-coordinator", "--", LabSession.Tools, "p2p-coordinator", Coordinator);
        session.MustRun(LabFixture.Short, "start", "clsym", "p2p-peer", "--", LabSession.Tools, "p2p-peer", Coordinator, seconds.ToString());
        Thread.Sleep(1500);
    }

    public static void Stop()
    {
        Lab.Run(LabFixture.Short, "stop", "srv", "p2p-coordinator");
        Lab.Run(LabFixture.Short, "stop", "clsym", "p2p-peer");
        Lab.InNode("srv", LabFixture.Short, "ip", "addr", "del", Coordinator + "/15", "dev", "eth4");
    }

    /// <summary>Three pings from <paramref name="node"/> to T(D) for every D; prints the table and the stand-ins' logs.</summary>
    public List<Row> PingEach(string node, string column)
    {
        var rows = new List<Row>();
        foreach (var d in Destinations)
        {
            string target = Target(d);
            var ping = session.Run(LabFixture.Long, "exec", node, "--", "ping", "-6", "-n", "-c", "3", "-i", "0.3", "-W", "3", target);
            rows.Add(new Row(d, target, TeredoAddress.Parse(target).MappedAddress.ToString(), LabSession.Received(ping)));
        }
        output.WriteLine(File.ReadAllText("/run/tlab/srv/p2p-coordinator.log"));
        output.WriteLine(File.ReadAllText("/run/tlab/clsym/p2p-peer.log"));
        output.WriteLine($"| D | T(D) | mapped IPv4 read from it | {column} |");
        foreach (var row in rows) output.WriteLine($"| {row.D} | {row.Target} | {row.Mapped} | {row.Received}/3 |");
        return rows;
    }

    /// <summary>T(D) of DESIGN.md §B.1: 2001:0 | coordinator | 0x00 | D | suffix 0.</summary>
    public static string Target(string destination)
    {
        var b = new byte[16];
        b[0] = 0x20;
        b[1] = 0x01;
        IPAddress.Parse(Coordinator).GetAddressBytes().CopyTo(b, 4);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(b, 9);
        return new IPAddress(b).ToString();
    }
}
