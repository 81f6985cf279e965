using Teredo.Net;

namespace Teredo.Hosting.Packets;

/// <summary>One datagram in flight through the in-memory network: who sent it, to whom, what it carries.</summary>
public sealed record InMemoryDatagram(Ipv4Endpoint Source, Ipv4Endpoint Destination, byte[] Payload);
