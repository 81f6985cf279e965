using System.Text.Json;
using Teredo.Cli.Lab;

namespace Teredo.Tests.Lab;

/// <summary>The launcher table's pure parts: arguments, the address plan, readiness queries from literal status documents.</summary>
public class LauncherTableTests
{
    [Fact]
    public void Every_daemon_kind_has_an_entry_that_replaces_itself()
    {
        string[] kinds = ["teredo-server", "teredo-relay", "teredo-client", "coordinator", "v4peer", "v6peer", "nat64", "tayga",
            "miredo-server", "miredo-relay", "miredo-client"];
        Assert.Equal(kinds.Order(), Launchers.Table.Keys.Order());
        foreach (var kind in Launchers.Table.Values)
            Assert.Contains(kind.Process, kind.Replaces);
    }

    [Fact]
    public void One_server_and_one_relay_per_node_whichever_implementation()
    {
        Assert.Contains("miredo-server", Launchers.Table["teredo-server"].Replaces);
        Assert.Contains("teredo-server", Launchers.Table["miredo-server"].Replaces);
        Assert.Contains("miredo-relay", Launchers.Table["teredo-relay"].Replaces);
        Assert.Contains("teredo-relay", Launchers.Table["miredo-relay"].Replaces);
        Assert.False(Launchers.Table["miredo-client"].PassesRest);   // Miredo gets no options of ours
    }

    [Fact]
    public void Launch_args_split_the_labs_options_from_the_daemons()
    {
        var a = LaunchArgs.Parse(["--bind", "198.18.0.20", "--peer-capacity", "64", "--ifname", "tun9", "--log-level", "Debug"], ["--bind", "--ifname"], []);
        Assert.Equal("198.18.0.20", a.Value("--bind"));
        Assert.Equal("tun9", a.Value("--ifname"));
        Assert.Null(a.Value("--port"));
        Assert.Equal(["--peer-capacity", "64", "--log-level", "Debug"], a.Rest);

        var t = LaunchArgs.Parse(["teredo", "--conf", "/x/tayga.conf", "--", "-d", "--conf"], ["--conf"], []);
        Assert.Equal(["teredo"], t.Positional);
        Assert.Equal("/x/tayga.conf", t.Value("--conf"));
        Assert.Equal(["-d", "--conf"], t.Rest);   // after --, everything is the daemon's

        var m = LaunchArgs.Parse(["--chroot", "--server", "198.18.0.10"], ["--server"], ["--chroot"]);
        Assert.True(m.Flag("--chroot"));
        Assert.Empty(m.Rest);
        Assert.Throws<LabException>(() => LaunchArgs.Parse(["--server"], ["--server"], []));
    }

    [Fact]
    public void Plan_reads_lab_sh_plan_output()
    {
        var plan = LabPlan.Parse("SRV_V4A=198.18.0.10\nNAT_DESC_symmetric=symmetric (MASQUERADE --random-fully)\nV6LAN_NET=2001:db8:66::/64\n");
        Assert.Equal("198.18.0.10", plan["SRV_V4A"]);
        Assert.Equal("symmetric (MASQUERADE --random-fully)", plan["NAT_DESC_symmetric"]);
        Assert.Throws<LabException>(() => plan["RELAY_V4"]);
    }

    [Fact]
    public void A_v4peer_is_ready_once_the_coordinator_lists_its_address()
    {
        using var listed = JsonDocument.Parse("""{"state":"running","peers":[{"identity":"a1","localAddress":"10.1.0.2"},{"identity":"b2","localAddress":"10.3.0.2"}]}""");
        using var empty = JsonDocument.Parse("""{"state":"running","peers":[]}""");
        using var odd = JsonDocument.Parse("""{"state":"running","peers":{"localAddress":"10.3.0.2"}}""");
        Assert.True(Launchers.ListsPeer(listed.RootElement, "10.3.0.2"));
        Assert.False(Launchers.ListsPeer(listed.RootElement, "10.4.0.2"));
        Assert.False(Launchers.ListsPeer(empty.RootElement, "10.3.0.2"));
        Assert.False(Launchers.ListsPeer(odd.RootElement, "10.3.0.2"));
    }

    [Fact]
    public void Qualified_address_is_the_first_teredo_one_ip_shows()
    {
        const string Ip = "7: teredo    inet6 2001:0:c612:a:c39:4977:39ed:fdfe/32 scope global \\       valid_lft forever preferred_lft forever\n";
        Assert.Equal("2001:0:c612:a:c39:4977:39ed:fdfe", DaemonLauncher.TeredoAddress(Ip));
        Assert.Null(DaemonLauncher.TeredoAddress("7: teredo    inet6 fe80::ffff:ffff:ffff/64 scope link\n"));
        Assert.Null(DaemonLauncher.TeredoAddress(""));
    }

    [Fact]
    public void Node_and_namespace_names()
    {
        Assert.Equal("tlab-srv", LabContext.Namespace("srv"));
        Assert.Equal("tlab-srv", LabContext.Namespace("tlab-srv"));
        Assert.Equal("srv", LabContext.Node("tlab-srv"));
    }
}
