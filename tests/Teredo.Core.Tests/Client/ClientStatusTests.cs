using System.Text.Json;
using Teredo.Client;
using Teredo.Hosting.Client;
using Teredo.Hosting.Control;
using Teredo.Net;
using Teredo.Tests.Support;

namespace Teredo.Tests.Client;

public class ClientStatusTests
{
    [Fact]
    public void The_status_document_decodes_the_address_and_lists_peers_and_counters()
    {
        var h = new ClientHarness(NatBehaviour.Symmetric);
        h.Qualify();
        var peer = Packets.PeerAddress();
        h.Client.OnDatagram(h.Now, ClientPort.Service, Packets.PeerMapping, Packets.Bubble(peer, h.Client.Address.Address), h.Sink);
        h.Now += 2_500;
        string text = StatusJson.Build(j => ClientStatus.Write(j, h.Client, h.Now, "teredo", new Ipv4Endpoint(new Ipv4Address(10, 2, 0, 2), 50000),
            defaultRoute: true, sendErrors: 0, eventsNotApplied: 0, uptimeSeconds: 3, stopping: false));
        var s = JsonDocument.Parse(text).RootElement;
        Assert.Equal("client", s.GetProperty("role").GetString());
        Assert.Equal("qualified", s.GetProperty("state").GetString());
        Assert.Equal("symmetric", s.GetProperty("natType").GetString());
        Assert.True(s.GetProperty("natTypeFinal").GetBoolean());
        Assert.Equal(h.Client.Address.ToString(), s.GetProperty("teredoAddress").GetString());
        var decoded = s.GetProperty("teredoAddressDecoded");
        Assert.Equal("198.18.0.10", decoded.GetProperty("server").GetString());
        Assert.False(decoded.GetProperty("coneBit").GetBoolean());
        Assert.Equal(h.Client.Mapped.Port, decoded.GetProperty("mappedPort").GetInt32());
        Assert.Equal(h.Client.Mapped.ToString(), s.GetProperty("mappedEndpoint").GetString());
        Assert.Equal("10.2.0.2:50000", s.GetProperty("localEndpoint").GetString());
        Assert.Equal(30, s.GetProperty("refreshIntervalSeconds").GetDouble());
        var p = Assert.Single(s.GetProperty("peers").EnumerateArray());
        Assert.Equal(peer.ToString(), p.GetProperty("address").GetString());
        Assert.Equal("teredo", p.GetProperty("kind").GetString());
        Assert.Equal("trusted", p.GetProperty("trust").GetString());
        Assert.Equal(2.5, p.GetProperty("ageSeconds").GetDouble());
        var counters = s.GetProperty("counters");
        Assert.Equal(h.Client.Counters[ClientCounter.UdpReceived], counters.GetProperty("udpReceived").GetInt64());
        Assert.Equal(1, counters.GetProperty("bubbleFromPeer").GetInt64());
        Assert.Equal(0, counters.GetProperty("sendErrors").GetInt64());
    }
}
