using System.Collections.Concurrent;

namespace Teredo.Hosting.Tun;

/// <summary>
/// A TUN device in memory, for tests of whatever sits on the engine side of <see cref="ITunDevice"/>:
/// the test <see cref="Inject"/>s packets the engine will <see cref="Read"/>, and <see cref="TakeWritten"/>s
/// the packets the engine <see cref="Write"/>s. Both queues are bounded like a real interface's: a full
/// one drops, so a test of overload sees drops instead of unbounded memory.
/// </summary>
public sealed class InMemoryTun : ITunDevice
{
    private readonly BlockingCollection<byte[]> _toEngine;
    private readonly BlockingCollection<byte[]> _fromEngine;
    private readonly CancellationTokenSource _closed = new();
    private long _droppedWrites;

    public InMemoryTun(string name = "mem0", int mtu = 1280, int capacity = 1024, int readTimeoutMilliseconds = 250)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Name = name;
        Mtu = mtu;
        ReadTimeoutMilliseconds = readTimeoutMilliseconds;
        _toEngine = new BlockingCollection<byte[]>(new ConcurrentQueue<byte[]>(), capacity);
        _fromEngine = new BlockingCollection<byte[]>(new ConcurrentQueue<byte[]>(), capacity);
    }

    public string Name { get; }
    public int Mtu { get; }
    public int ReadTimeoutMilliseconds { get; }

    /// <summary>Packets the engine wrote while the test had not taken the earlier ones.</summary>
    public long DroppedWrites => Interlocked.Read(ref _droppedWrites);

    // ---- engine side (ITunDevice) ----

    public int Read(Span<byte> packet) => Read(packet, ReadTimeoutMilliseconds);

    public int TryRead(Span<byte> packet) => Read(packet, 0);

    private int Read(Span<byte> packet, int timeoutMilliseconds)
    {
        byte[]? next;
        try
        {
            if (!_toEngine.TryTake(out next, timeoutMilliseconds, _closed.Token)) return 0;
        }
        catch (OperationCanceledException) { return 0; }
        catch (ObjectDisposedException) { return 0; }
        // A real TUN would drop it silently; in a test a short buffer is a bug worth hearing about.
        if (next.Length > packet.Length)
            throw new ArgumentException($"a {next.Length}-byte packet does not fit a {packet.Length}-byte buffer", nameof(packet));
        next.CopyTo(packet);
        return next.Length;
    }

    public void Write(ReadOnlySpan<byte> packet)
    {
        ObjectDisposedException.ThrowIf(_closed.IsCancellationRequested, this);
        bool added;
        try { added = _fromEngine.TryAdd(packet.ToArray()); }
        catch (InvalidOperationException) { throw new ObjectDisposedException(Name); }
        if (!added) Interlocked.Increment(ref _droppedWrites);
    }

    // ---- test side ----

    /// <summary>Queues a packet for the engine's next Read; false when the queue is full or the device closed.</summary>
    public bool Inject(ReadOnlySpan<byte> packet)
    {
        if (_closed.IsCancellationRequested) return false;
        try { return _toEngine.TryAdd(packet.ToArray()); }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>The next packet the engine wrote, or null if none comes within <paramref name="timeout"/>.</summary>
    public byte[]? TakeWritten(TimeSpan timeout)
    {
        try { return _fromEngine.TryTake(out var packet, timeout) ? packet : null; }
        catch (ObjectDisposedException) { return null; }
    }

    public void Dispose()
    {
        if (_closed.IsCancellationRequested) return;
        _closed.Cancel();
        _toEngine.CompleteAdding();
        _fromEngine.CompleteAdding();
    }
}
