using System.Text.Json;

namespace Teredo.Cli.Lab;

/// <summary>
/// The launcher table: every daemon the lab starts, ours and the reference peers (Miredo, Tayga), one
/// entry each. <see cref="DaemonLauncher"/> does the common work (stop what it replaces, start tracked,
/// wait until ready, report); an entry only says what differs. A new role is a new entry here.
/// </summary>
public static class Launchers
{
    private static readonly string[] None = [];

    public static readonly IReadOnlyDictionary<string, DaemonKind> Table = new[]
    {
        new DaemonKind("teredo-server", "NODE [--primary IPV4] [OPTIONS]", "teredo-server",
            ["teredo-server", "miredo-server"], ["--primary"], None, PassesRest: true, TeredoServer),
        new DaemonKind("teredo-relay", "NODE [--bind IPV4] [--ifname IF] [OPTIONS]", "teredo-relay",
            ["teredo-relay", "miredo-relay"], ["--bind", "--ifname"], None, PassesRest: true, TeredoRelay),
        new DaemonKind("teredo-client", "NODE [--server IPV4] [--ifname IF] [OPTIONS]", "teredo-client",
            ["teredo-client", "miredo-client"], ["--server", "--ifname"], None, PassesRest: true, TeredoClient),
        new DaemonKind("coordinator", "NODE [OPTIONS]", "coordinator",
            ["coordinator"], None, None, PassesRest: true, Coordinator),
        new DaemonKind("v4peer", "NODE [--coordinator NODE] [OPTIONS]", "v4peer",
            ["v4peer"], ["--coordinator"], None, PassesRest: true, V4Peer),
        new DaemonKind("v6peer", "NODE [OPTIONS]", "v6peer",
            ["v6peer"], None, None, PassesRest: true, V6Peer),
        new DaemonKind("nat64", "NODE [--conf FILE] [-- OPTIONS]", "tayga",
            ["tayga"], ["--conf"], None, PassesRest: true, r => Translator(r, ours: true)),
        new DaemonKind("tayga", "NODE [--conf FILE] [-- OPTIONS]", "tayga",
            ["tayga"], ["--conf"], None, PassesRest: true, r => Translator(r, ours: false)),
        new DaemonKind("miredo-server", "NODE [--primary IPV4] [--secondary IPV4] [--chroot]", "miredo-server",
            ["miredo-server", "teredo-server"], ["--primary", "--secondary"], ["--chroot"], PassesRest: false, MiredoServer),
        new DaemonKind("miredo-relay", "NODE [--bind IPV4] [--port N] [--ifname IF] [--chroot]", "miredo-relay",
            ["miredo-relay", "teredo-relay"], ["--bind", "--port", "--ifname"], ["--chroot"], PassesRest: false, MiredoRelay),
        new DaemonKind("miredo-client", "NODE [--server IPV4] [--port N] [--ifname IF] [--chroot]", "miredo-client",
            ["miredo-client"], ["--server", "--port", "--ifname"], ["--chroot"], PassesRest: false, MiredoClient),
    }.ToDictionary(k => k.Name, StringComparer.Ordinal);

    private static bool Running(JsonElement s) => StatusProbe.String(s, "state") == "running";

    private static string Sock(LaunchRequest r, string name) => r.File(name + ".sock");

    // ---- this project's daemons: ready when their status says so ----------------------------------

    private static LaunchPlan TeredoServer(LaunchRequest r)
    {
        string primary = r.Args.Value("--primary") ?? (r.Node == "srv" ? r.Plan["SRV_V4A"] : LabContext.Ipv4Of(r.Node))
            ?? throw new LabException($"teredo-server: {r.Node} has no IPv4 address");
        string sock = Sock(r, "teredo-server");
        return new([.. r.Teredo, "server", "--primary", primary, "--control", sock, .. r.Rest],
            Readiness.Status(sock, "state running", Running),
            () => $"teredo server running in {r.Node} on {primary} and the next address (log {r.File("teredo-server.log")}, status: teredo status --control {sock})");
    }

    private static LaunchPlan TeredoRelay(LaunchRequest r)
    {
        string? bind = r.Args.Value("--bind") ?? (r.Node == "relay" ? r.Plan["RELAY_V4"] : null);
        string ifname = r.Args.Value("--ifname") ?? "teredo", sock = Sock(r, "teredo-relay");
        NodeSetup.WaitInterfaceFree(r.Node, ifname);
        NodeSetup.Ipv6Forwarding(r.Node);
        var route = Readiness.TeredoRoute(r.Node, ifname);
        return new([.. r.Teredo, "relay", .. bind is null ? None : ["--bind", bind], "--interface", ifname, "--control", sock, .. r.Rest],
            Readiness.Status(sock, "state running and " + route.What, s => Running(s) && route.Check(TimeSpan.Zero)),
            () => $"teredo relay running in {r.Node} (2001::/32 dev {ifname}, bound {bind ?? "any"}; log {r.File("teredo-relay.log")}, status: teredo status --control {sock})");
    }

    private static LaunchPlan TeredoClient(LaunchRequest r)
    {
        string server = r.Args.Value("--server") ?? r.Plan["SRV_V4A"], ifname = r.Args.Value("--ifname") ?? "teredo";
        string sock = Sock(r, "teredo-client");
        NodeSetup.WaitInterfaceFree(r.Node, ifname);
        File.WriteAllText(r.File("teredo-ifname"), ifname + "\n");
        // ready = answering; qualification is what wait-qualified measures
        return new([.. r.Teredo, "client", "--server", server, "--interface", ifname, "--control", sock, .. r.Rest],
            Readiness.Status(sock, "a state", s => StatusProbe.String(s, "state") is not null),
            () => $"teredo client running in {r.Node}, server {server} (log {r.File("teredo-client.log")}, status: teredo status --control {sock})");
    }

    private static LaunchPlan Coordinator(LaunchRequest r)
    {
        string address = LabContext.Ipv4Of(r.Node, "eth4") ?? throw new LabException($"coordinator: {r.Node} has no eth4 address");
        string sock = Sock(r, "coordinator"), pin = r.File("coordinator.pin");
        Directory.CreateDirectory(r.File("coordinator-state"));   // kept across restarts: the static addresses survive them
        return new([.. r.Teredo, "coordinator", "--address", address, "--state", r.File("coordinator-state"), "--control", sock,
                "--allow-destination", r.Plan["P2P_ALLOW"], .. r.Rest],
            Readiness.Status(sock, "state running", Running),
            () => $"coordinator running in {r.Node} on {address} ({Field(sock, "prefix")}), pin {File.ReadAllText(pin).Trim()} (status: teredo status --control {sock})",
            After: () => File.WriteAllText(pin, Field(sock, "pin") + "\n"));
    }

    private static LaunchPlan V4Peer(LaunchRequest r)
    {
        string cnode = LabContext.Node(r.Args.Value("--coordinator") ?? "coord");
        string pin = r.Lab.ReadNodeFile(cnode, "coordinator.pin") is { Length: > 0 } p ? p
            : throw new LabException($"v4peer: no coordinator running in {cnode} (lab.sh coordinator {cnode})");
        string caddr = LabContext.Ipv4Of(cnode, "eth4") ?? throw new LabException($"v4peer: {cnode} has no eth4 address");
        string local = LabContext.Ipv4Of(r.Node) ?? throw new LabException($"v4peer: {r.Node} has no IPv4 address");
        string sock = Sock(r, "v4peer");
        Directory.CreateDirectory(r.File("v4peer-state"));
        string behind = r.Lab.ReadNodeFile(r.Node, "nat") is { } nat ? $"behind {nat} ({r.Lab.ReadNodeFile(nat, "nat-kind")})" : "no NAT";
        return new([.. r.Teredo, "v4peer", "--coordinator", caddr, "--pin", pin, "--state", r.File("v4peer-state"), "--control", sock,
                "--allow-destination", r.Plan["P2P_ALLOW"], .. r.Rest],
            // ready once the coordinator lists it: registered over the control channel, not merely started
            Readiness.Status(r.Lab.NodeFile(cnode, "coordinator.sock"), $"the coordinator to list {local}", s => ListsPeer(s, local), TimeSpan.FromSeconds(15)),
            () => $"v4peer running in {r.Node} ({local}, {behind}) connected to {caddr} (status: teredo status --control {sock})");
    }

    /// <summary>The coordinator's status lists a connected peer whose own address is <paramref name="local"/>.</summary>
    public static bool ListsPeer(JsonElement coordinator, string local)
    {
        if (!coordinator.TryGetProperty("peers", out var peers) || peers.ValueKind != JsonValueKind.Array) return false;
        foreach (var peer in peers.EnumerateArray())
            if (StatusProbe.String(peer, "localAddress") == local) return true;
        return false;
    }

    private static LaunchPlan V6Peer(LaunchRequest r)
    {
        string sock = Sock(r, "v6peer"), lan = r.Plan["V6LAN_NET"];
        return new([.. r.Teredo, "v6peer", "--prefix", r.Plan["P2P_PREFIX"], "--pool", r.Plan["P2P_POOL"], "--coordinator", r.Plan["COORD_V4"],
                "--client-network", lan, "--allow-destination", r.Plan["P2P_ALLOW"], "--control", sock, .. r.Rest],
            Readiness.Status(sock, "a role", s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("role", out _)),
            () => $"v6peer running in {r.Node}: {r.Plan["P2P_PREFIX"]} for {lan}, pool {r.Plan["P2P_POOL"]}, coordinator {r.Plan["COORD_V4"]} (status: teredo status --control {sock})");
    }

    private static string Field(string sock, string name) => StatusProbe.Read(sock) is { } s ? StatusProbe.String(s, name) ?? "?" : "?";

    // ---- NAT64: Debian's tayga, or ours through a wrapper named tayga, from the same tayga.conf ---------

    private static LaunchPlan Translator(LaunchRequest r, bool ours)
    {
        Translators.Stop(r.Lab, r.Node);
        string conf = r.Args.Value("--conf") ?? Translators.WriteConf(r);
        string program = ours ? Translators.Wrapper(r) : Translators.DebianTayga();
        File.WriteAllText(r.File("tayga-impl"), $"{(ours ? "teredo" : "tayga")} {program} {conf}\n");
        Translators.MakeTun(r, program, conf);
        string sock = r.File("teredo-nat64.sock");
        return new([program, "-c", conf, "--nodetach", "-p", r.File("tayga.daemon-pid"), .. r.Args.Rest],
            ours ? Readiness.Status(sock, "state running", Running) : Readiness.FileWritten(r.File("tayga.daemon-pid")),
            () => $"{(ours ? "teredo" : "tayga")} running as tayga in {r.Node} ({Translators.Tun}: {r.Plan["NAT64_PREFIX"]} and {r.Plan["NAT64_V4_ROUTE"]}; conf {conf}; log {r.File("tayga.log")}{(ours ? ", status: teredo status --control " + sock : "")})");
    }

    // ---- Miredo (black boxes): ready by what they leave behind -----------------------------------------

    private static LaunchPlan MiredoServer(LaunchRequest r)
    {
        string primary = r.Args.Value("--primary") ?? (r.Node == "srv" ? r.Plan["SRV_V4A"] : LabContext.Ipv4Of(r.Node))
            ?? throw new LabException($"miredo-server: {r.Node} has no IPv4 address");
        string? secondary = r.Args.Value("--secondary");
        string conf = NodeSetup.WriteConfig(r.File("miredo-server.conf"), "node " + r.Node,
            ["ServerBindAddress " + primary, secondary is null ? null : "ServerBindAddress2 " + secondary, "SyslogFacility user"]);
        return new(["miredo-server", "-f", "-c", conf, "-p", r.File("miredo-server.daemon-pid"), .. NodeSetup.MiredoOptions(r)],
            Readiness.Survives(TimeSpan.FromMilliseconds(300)),
            () => $"miredo-server running in {r.Node} on {primary}/{secondary ?? "next address"}:3544 (log {r.File("miredo-server.log")})");
    }

    private static LaunchPlan MiredoRelay(LaunchRequest r)
    {
        string? bind = r.Args.Value("--bind") ?? (r.Node == "relay" ? r.Plan["RELAY_V4"] : null), port = r.Args.Value("--port");
        string ifname = r.Args.Value("--ifname") ?? "teredo";
        NodeSetup.WaitInterfaceFree(r.Node, ifname);
        string conf = NodeSetup.WriteConfig(r.File("miredo-relay.conf"), $"node {r.Node}: Teredo relay with a public IPv4 address",
            ["RelayType cone", "InterfaceName " + ifname, bind is null ? null : "BindAddress " + bind, port is null ? null : "BindPort " + port, "SyslogFacility user"]);
        NodeSetup.Ipv6Forwarding(r.Node);
        return new(["miredo", "-f", "-c", conf, "-p", r.File("miredo-relay.daemon-pid"), .. NodeSetup.MiredoOptions(r)],
            Readiness.TeredoRoute(r.Node, ifname),
            () => $"miredo relay running in {r.Node} (2001::/32 dev {ifname}, bound {bind ?? "any"}:{port ?? "auto"}; log {r.File("miredo-relay.log")})");
    }

    private static LaunchPlan MiredoClient(LaunchRequest r)
    {
        string server = r.Args.Value("--server") ?? r.Plan["SRV_V4A"], ifname = r.Args.Value("--ifname") ?? "teredo";
        string? port = r.Args.Value("--port");
        NodeSetup.WaitInterfaceFree(r.Node, ifname);
        string conf = NodeSetup.WriteConfig(r.File("miredo-client.conf"), $"node {r.Node}: Teredo client",
            ["RelayType client", "InterfaceName " + ifname, "ServerAddress " + server, port is null ? null : "BindPort " + port, "SyslogFacility user"]);
        File.WriteAllText(r.File("teredo-ifname"), ifname + "\n");
        return new(["miredo", "-f", "-c", conf, "-p", r.File("miredo-client.daemon-pid"), .. NodeSetup.MiredoOptions(r)],
            Readiness.Survives(TimeSpan.FromMilliseconds(200)),
            () => $"miredo client running in {r.Node}, server {server} (log {r.File("miredo-client.log")})");
    }
}
