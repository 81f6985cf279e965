using System.Collections.Concurrent;
using Teredo.Hosting.Packets;
using Teredo.Hosting.Sockets;
using Teredo.Net;

namespace Teredo.Tests.Packets;

/// <summary>An in-memory bind that also records how many datagrams each Send carried: one Send is one sendmmsg.</summary>
internal sealed class CountingBind(Ipv4Endpoint local, int capacity = 1024) : IDatagramBind
{
    public InMemoryBind Inner { get; } = new(local, capacity: capacity);
    public ConcurrentQueue<int> SendSizes { get; } = new();

    public Ipv4Endpoint Local => Inner.Local;
    public int Receive(UdpBatch batch) => Inner.Receive(batch);
    public int Poll(UdpBatch batch) => Inner.Poll(batch);

    public int Send(UdpBatch batch)
    {
        SendSizes.Enqueue(batch.Count);
        return Inner.Send(batch);
    }

    public void Dispose() => Inner.Dispose();
}
