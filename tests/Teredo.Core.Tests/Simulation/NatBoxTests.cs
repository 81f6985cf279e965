using FsCheck.Xunit;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>The NAT models checked against RFC 4787's definitions of their mapping and filtering behaviours.</summary>
public class NatBoxTests
{
    private static readonly Ipv4Address Public = new(198, 18, 1, 1);
    private static readonly Ipv4Endpoint Inside = new(new Ipv4Address(10, 1, 0, 2), 50000);
    private static readonly Ipv4Endpoint OtherInside = new(new Ipv4Address(10, 1, 0, 3), 50000);
    private static readonly Ipv4Endpoint A = new(new Ipv4Address(198, 18, 0, 10), 3544);
    /// <summary>Same address as <see cref="A"/>, another port.</summary>
    private static readonly Ipv4Endpoint APrime = new(new Ipv4Address(198, 18, 0, 10), 3545);
    private static readonly Ipv4Endpoint B = new(new Ipv4Address(198, 18, 0, 11), 3544);

    [Theory]
    [InlineData(NatKind.FullCone, true)]
    [InlineData(NatKind.AddressRestricted, true)]
    [InlineData(NatKind.PortRestricted, true)]
    [InlineData(NatKind.Symmetric, false)]
    public void Only_the_symmetric_NAT_maps_each_destination_to_its_own_port(NatKind kind, bool sameMapping)
    {
        var nat = new NatBox(kind, Public);
        var toA = nat.Outbound(0, Inside, A);
        var toB = nat.Outbound(0, Inside, B);
        Assert.Equal(Public, toA.Address);
        Assert.Equal(sameMapping, toA == toB);
        // The same flow again keeps its mapping, whatever the kind.
        Assert.Equal(toA, nat.Outbound(10, Inside, A));
        Assert.NotEqual(toA, nat.Outbound(10, OtherInside, A));
    }

    /// <summary>After the inside wrote to A only: who may answer through that mapping (RFC 4787 §5).</summary>
    [Theory]
    [InlineData(NatKind.FullCone, true, true, true)]
    [InlineData(NatKind.AddressRestricted, true, true, false)]
    [InlineData(NatKind.PortRestricted, true, false, false)]
    [InlineData(NatKind.Symmetric, true, false, false)]
    public void Filtering_follows_the_kind(NatKind kind, bool fromA, bool fromOtherPortOfA, bool fromB)
    {
        var nat = new NatBox(kind, Public);
        var mapped = nat.Outbound(0, Inside, A);
        Assert.Equal(fromA, nat.TryInbound(1, A, mapped.Port, out var inside));
        Assert.Equal(Inside, inside);
        Assert.Equal(fromOtherPortOfA, nat.TryInbound(1, APrime, mapped.Port, out _));
        Assert.Equal(fromB, nat.TryInbound(1, B, mapped.Port, out _));
        int refused = (fromOtherPortOfA ? 0 : 1) + (fromB ? 0 : 1);
        Assert.Equal(refused, nat.Counters[NatCounter.InboundFiltered]);
        Assert.Equal(3 - refused, nat.Counters[NatCounter.InboundAccepted]);
    }

    [Theory]
    [InlineData(NatKind.FullCone)]
    [InlineData(NatKind.PortRestricted)]
    [InlineData(NatKind.Symmetric)]
    public void Nothing_gets_in_at_a_port_that_was_never_mapped(NatKind kind)
    {
        var nat = new NatBox(kind, Public);
        var mapped = nat.Outbound(0, Inside, A);
        Assert.False(nat.TryInbound(1, A, (ushort)(mapped.Port + 1), out _));
        Assert.Equal(1, nat.Counters[NatCounter.InboundNoMapping]);
    }

    [Theory]
    [InlineData(NatKind.FullCone)]
    [InlineData(NatKind.AddressRestricted)]
    [InlineData(NatKind.Symmetric)]
    public void A_mapping_lives_while_traffic_refreshes_it_and_expires_after_the_timeout(NatKind kind)
    {
        var nat = new NatBox(kind, Public, mappingTimeoutMs: 1000);
        var mapped = nat.Outbound(0, Inside, A);
        // Traffic either way within the timeout keeps it (Linux conntrack refreshes on both directions).
        Assert.True(nat.TryInbound(900, A, mapped.Port, out _));
        Assert.Equal(mapped, nat.Outbound(1800, Inside, A));
        Assert.True(nat.TryInbound(2799, A, mapped.Port, out _));
        // 1000 ms of silence: gone, and the next datagram out gets a new port.
        Assert.False(nat.TryInbound(3799, A, mapped.Port, out _));
        Assert.Equal(1, nat.Counters[NatCounter.MappingsExpired]);
        var again = nat.Outbound(3800, Inside, A);
        Assert.NotEqual(mapped.Port, again.Port);
        Assert.Equal(1, nat.Count);
    }

    [Fact]
    public void A_filter_permission_expires_on_its_own_even_while_the_mapping_lives()
    {
        var nat = new NatBox(NatKind.PortRestricted, Public, mappingTimeoutMs: 1000);
        var mapped = nat.Outbound(0, Inside, A);
        nat.Outbound(800, Inside, B);
        Assert.False(nat.TryInbound(1500, A, mapped.Port, out _));
        Assert.True(nat.TryInbound(1500, B, mapped.Port, out _));
    }

    [Theory]
    [InlineData(NatKind.FullCone)]
    [InlineData(NatKind.PortRestricted)]
    [InlineData(NatKind.Symmetric)]
    public void Remap_forgets_one_hosts_mappings_and_gives_it_new_ports(NatKind kind)
    {
        var nat = new NatBox(kind, Public);
        var mapped = nat.Outbound(0, Inside, A);
        var neighbour = nat.Outbound(0, OtherInside, A);
        nat.Remap(Inside.Address);
        Assert.False(nat.TryInbound(1, A, mapped.Port, out _));
        Assert.True(nat.TryInbound(1, A, neighbour.Port, out _));
        var after = nat.Outbound(2, Inside, A);
        Assert.NotEqual(mapped, after);
        Assert.NotEqual(neighbour, after);
        Assert.True(nat.TryInbound(3, A, after.Port, out var inside));
        Assert.Equal(Inside, inside);
        Assert.Equal(1, nat.Counters[NatCounter.MappingsDropped]);
    }

    [Fact]
    public void Flush_forgets_everything()
    {
        var nat = new NatBox(NatKind.FullCone, Public);
        var one = nat.Outbound(0, Inside, A);
        var two = nat.Outbound(0, OtherInside, A);
        nat.Flush();
        Assert.Equal(0, nat.Count);
        Assert.False(nat.TryInbound(1, A, one.Port, out _));
        Assert.False(nat.TryInbound(1, A, two.Port, out _));
        Assert.Equal(2, nat.Counters[NatCounter.MappingsDropped]);
    }

    [Fact]
    public void A_full_table_evicts_the_least_recently_used_mapping()
    {
        var nat = new NatBox(NatKind.Symmetric, Public, capacity: 2);
        var first = nat.Outbound(0, Inside, A);
        var second = nat.Outbound(1, Inside, B);
        nat.Outbound(2, Inside, A);
        var third = nat.Outbound(3, Inside, APrime);
        Assert.Equal(2, nat.Count);
        Assert.Equal(1, nat.Counters[NatCounter.MappingsEvicted]);
        Assert.True(nat.TryInbound(4, A, first.Port, out _));
        Assert.False(nat.TryInbound(4, B, second.Port, out _));
        Assert.True(nat.TryInbound(4, APrime, third.Port, out _));
    }

    /// <summary>
    /// Whatever the traffic and timing, a datagram gets in only to an inside endpoint that sent out through
    /// that public port and, unless full cone, sent to that address (and port, unless address-restricted).
    /// (How long that lasts is the timeout tests' job.)
    /// </summary>
    [Property(MaxTest = 300)]
    public bool Inbound_is_accepted_only_where_the_definition_allows(byte[] script, byte kindByte)
    {
        const long timeout = 50;
        var kind = (NatKind)(kindByte % 4);
        var nat = new NatBox(kind, Public, mappingTimeoutMs: timeout);
        Ipv4Endpoint[] remotes = [A, APrime, B];
        Ipv4Endpoint[] insides = [Inside, OtherInside];
        var sent = new List<(Ipv4Endpoint Inside, Ipv4Endpoint Remote, ushort Port)>();
        long now = 0;
        foreach (byte op in script ?? [])
        {
            now += op >> 5;
            var remote = remotes[op % 3];
            if ((op & 0x10) == 0)
            {
                var inside = insides[(op >> 3) & 1];
                sent.Add((inside, remote, nat.Outbound(now, inside, remote).Port));
                continue;
            }
            ushort port = sent.Count == 0 ? (ushort)40000 : sent[op % sent.Count].Port;
            if (!nat.TryInbound(now, remote, port, out var to)) continue;
            bool allowed = sent.Exists(s => s.Port == port && s.Inside == to && kind.Filtering() switch
            {
                NatFiltering.EndpointIndependent => true,
                NatFiltering.AddressDependent => s.Remote.Address == remote.Address,
                _ => s.Remote == remote,
            });
            if (!allowed) return false;
        }
        return true;
    }
}
