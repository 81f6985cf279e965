using System.Collections.Concurrent;
using Teredo.Hosting.Sockets;
using Teredo.Net;

namespace Teredo.Hosting.Packets;

/// <summary>
/// The in-memory twin of <see cref="UdpBind"/>, for host tests and the simulated network: <see cref="Deliver"/>
/// queues a datagram for the engine, and what the engine sends goes to the <c>outbound</c> callback given
/// at construction (the simulated network), or else to a queue the test empties with <see cref="TryTakeSent"/>.
/// Both queues are bounded like a socket buffer: a full one drops (a lost send is counted by the host).
/// Thread-safe.
/// </summary>
public sealed class InMemoryBind : IDatagramBind
{
    private readonly BlockingCollection<InMemoryDatagram> _inbound;
    private readonly BlockingCollection<InMemoryDatagram> _sent;
    private readonly Action<InMemoryDatagram>? _outbound;
    private readonly CancellationTokenSource _closed = new();
    private readonly int _receiveTimeoutMs;

    /// <param name="outbound">Called, on the sending thread, for every datagram the engine sends; null: queued for <see cref="TryTakeSent"/>.</param>
    public InMemoryBind(Ipv4Endpoint local, Action<InMemoryDatagram>? outbound = null, int capacity = 1024, int receiveTimeoutMs = 250)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(receiveTimeoutMs, 0);
        Local = local;
        _outbound = outbound;
        _receiveTimeoutMs = receiveTimeoutMs;
        _inbound = new BlockingCollection<InMemoryDatagram>(new ConcurrentQueue<InMemoryDatagram>(), capacity);
        _sent = new BlockingCollection<InMemoryDatagram>(new ConcurrentQueue<InMemoryDatagram>(), capacity);
    }

    public Ipv4Endpoint Local { get; }

    /// <summary>Datagrams waiting for the engine.</summary>
    public int Pending => _inbound.Count;

    /// <summary>Queues a datagram from <paramref name="source"/> for the engine; false when the queue is full or the bind closed.</summary>
    public bool Deliver(Ipv4Endpoint source, ReadOnlySpan<byte> payload)
    {
        if (_closed.IsCancellationRequested) return false;
        try { return _inbound.TryAdd(new InMemoryDatagram(source, Local, payload.ToArray())); }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>The oldest datagram the engine sent, when no outbound callback was given.</summary>
    public bool TryTakeSent(out InMemoryDatagram datagram)
    {
        datagram = null!;
        try { return _sent.TryTake(out datagram!); }
        catch (ObjectDisposedException) { return false; }
    }

    public int Receive(UdpBatch batch) => Fill(batch, _receiveTimeoutMs);

    public int Poll(UdpBatch batch) => Fill(batch, 0);

    private int Fill(UdpBatch batch, int firstTimeoutMs)
    {
        ObjectDisposedException.ThrowIf(_closed.IsCancellationRequested, this);
        int n = 0;
        try
        {
            if (!_inbound.TryTake(out var first, firstTimeoutMs, _closed.Token)) return 0;
            batch.SetReceived(n++, first.Payload, first.Source);
            while (n < batch.Capacity && _inbound.TryTake(out var next)) batch.SetReceived(n++, next.Payload, next.Source);
        }
        catch (OperationCanceledException)
        {
            if (n == 0) throw new ObjectDisposedException(nameof(InMemoryBind));
        }
        return n;
    }

    public int Send(UdpBatch batch)
    {
        int lost = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            if (_closed.IsCancellationRequested) { lost++; continue; }
            var datagram = new InMemoryDatagram(Local, batch.Destination(i), batch.Committed(i).ToArray());
            if (_outbound is not null) _outbound(datagram);
            else if (!TryQueueSent(datagram)) lost++;
        }
        batch.Clear();
        return lost;
    }

    private bool TryQueueSent(InMemoryDatagram datagram)
    {
        try { return _sent.TryAdd(datagram); }
        catch (InvalidOperationException) { return false; }
    }

    public void Dispose()
    {
        if (_closed.IsCancellationRequested) return;
        _closed.Cancel();
        _inbound.CompleteAdding();
        _sent.CompleteAdding();
    }
}
