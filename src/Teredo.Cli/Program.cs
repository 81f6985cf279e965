using System.CommandLine;
using Teredo.Cli.Commands;

var root = new RootCommand("Teredo (RFC 4380, RFC 5991) server, client and relay, and the peer-to-peer NAT64 network over modified Teredo.");
root.Subcommands.Add(DecodeCommand.Create());
root.Subcommands.Add(ServerCommand.Create());
root.Subcommands.Add(ClientCommand.Create());
root.Subcommands.Add(RelayCommand.Create());
root.Subcommands.Add(CoordinatorCommand.Create());
root.Subcommands.Add(Nat64Command.Create());
root.Subcommands.Add(V4PeerCommand.Create());
root.Subcommands.Add(V6PeerCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(LabCommand.Create());
return root.Parse(args).Invoke();
