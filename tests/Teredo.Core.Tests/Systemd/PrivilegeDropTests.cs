using Teredo.Cli.Commands;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Privileges;
using Teredo.Tests.Support;

namespace Teredo.Tests.Systemd;

/// <summary>--user and the User directive: resolved before anything starts, unknown users refused as configuration errors.</summary>
public class PrivilegeDropTests
{
    [Fact]
    public void No_user_and_no_group_means_no_drop() => Assert.Null(PrivilegeDrop.Resolve(null, null, [Capability.NetAdmin]));

    [Fact]
    public void A_user_by_number_keeps_the_listed_capabilities_and_directories()
    {
        var drop = PrivilegeDrop.Resolve("65534", "65534", [Capability.NetAdmin], "/var/lib/teredo/v4peer", null)!;
        Assert.Equal(65534u, drop.Uid);
        Assert.Equal(65534u, drop.Gid);
        Assert.Equal(["/var/lib/teredo/v4peer"], drop.Writable);
        Assert.False(drop.Applied);
        Assert.Equal("uid 65534 gid 65534, keeping CAP_NET_ADMIN", drop.ToString());
    }

    [Fact]
    public void A_user_by_name_takes_its_primary_group()
    {
        var drop = PrivilegeDrop.Resolve("root", null, [])!;
        Assert.Equal(0u, drop.Uid);
        Assert.Equal(0u, drop.Gid);
        Assert.Equal("uid 0 gid 0, no capabilities", drop.ToString());
    }

    [Fact]
    public void An_unknown_user_is_a_configuration_error()
    {
        var e = Assert.Throws<ConfigException>(() => UserOption.Resolve("no-such-user-teredo-test", []));
        Assert.Contains("no-such-user-teredo-test", e.Message);
    }

    [Fact]
    public void Every_daemon_verb_has_user()
    {
        foreach (var command in new[] { ServerCommand.Create(), RelayCommand.Create(), ClientCommand.Create(), CoordinatorCommand.Create(),
                     V4PeerCommand.Create(), V6PeerCommand.Create(), Nat64Command.Create() })
            Assert.Contains(command.Options, o => o.Name == "--user");
    }

    [Fact]
    public void The_user_directive_is_read_by_every_directive_file_and_the_option_overrides_it()
    {
        using var dir = new TempDirectory();
        Assert.Equal("nobody", ServerConfiguration.Load(dir.Write("s.conf", "ServerBindAddress 192.0.2.1\nUser nobody\n")).User);
        Assert.Equal("nobody", RelayConfiguration.Load(dir.Write("r.conf", "RelayType relay\nUser nobody\n")).User);
        Assert.Equal("nobody", ClientConfiguration.Load(dir.Write("c.conf", "RelayType client\nServerAddress 192.0.2.1\nUser nobody\n")).User);
        Assert.Equal("nobody", CoordinatorConfiguration.Load(dir.Write("co.conf", "Address 192.0.2.1\nUser nobody\n")).User);
        Assert.Equal("nobody", V4PeerConfiguration.Load(dir.Write("v4.conf", "Coordinator 192.0.2.1\nUser nobody\n")).User);
        Assert.Equal("nobody", Ipv6PeerConfiguration.Load(dir.Write("v6.conf",
            "Prefix 2001:db8:64::/96\nPool 2001:db8:100::/112\nCoordinator 198.18.0.1\nClientNetwork 2001:db8:1::/64\nAllowDestination 198.18.0.0/15\nUser nobody\n")).User);
        Assert.Equal("daemon", V4PeerConfiguration.Load(dir.Write("v4b.conf", "Coordinator 192.0.2.1\nUser nobody\n"), o => o["User"] = "daemon").User);
        Assert.Null(RelayConfiguration.Load(dir.Write("r0.conf", "RelayType relay\n")).User);
    }
}
