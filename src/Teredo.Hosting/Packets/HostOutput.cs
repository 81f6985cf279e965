using Teredo.Engines;
using Teredo.Hosting.Sockets;
using Teredo.Net;

namespace Teredo.Hosting.Packets;

/// <summary>
/// What one thread's engine calls wrote, gathered per bind (one sendmmsg each) and per device, and sent by
/// <see cref="Flush"/> once the shard's lock is released. The engine writes into one scratch slot and
/// Send/Write copies the packet into the batch it goes to (one copy of at most an MTU, cheaper than a
/// second system call). Batches are made the first time a bind or device is used; nothing per packet.
/// One per thread per shard.
/// </summary>
internal sealed class HostOutput(PacketShard shard, int batchSize, int slotSize) : IPacketOutput, IDisposable
{
    private byte[] _scratch = new byte[slotSize];
    private readonly UdpBatch?[] _binds = new UdpBatch?[shard.Binds.Length];
    private readonly UdpBatch?[] _devices = new UdpBatch?[shard.DeviceCount];

    public Span<byte> Reserve(int maxLength)
    {
        // An engine that asks for more than a slot (headroom on a datagram the kernel cut at the slot
        // size) gets it; a packet that then does not fit its batch's slot is dropped as a send error.
        if (maxLength > _scratch.Length) _scratch = new byte[maxLength];
        return _scratch;
    }

    public void Send(PortHandle from, Ipv4Endpoint to, int length)
    {
        if ((uint)from.Index >= (uint)_binds.Length || shard.Binds[from.Index] is null || (uint)length > (uint)slotSize)
        {
            shard.CountSendErrors(1);
            return;
        }
        var batch = _binds[from.Index] ??= new UdpBatch(batchSize, slotSize);
        if (batch.IsFull) FlushBind(from.Index, batch);
        _scratch.AsSpan(0, length).CopyTo(batch.Next());
        batch.Commit(length, to);
    }

    public void Write(DeviceHandle device, int length)
    {
        if ((uint)device.Index >= (uint)_devices.Length || (uint)length > (uint)slotSize)
        {
            shard.CountSendErrors(1);
            return;
        }
        var batch = _devices[device.Index] ??= new UdpBatch(batchSize, slotSize);
        if (batch.IsFull) FlushDevice(device.Index, batch);
        _scratch.AsSpan(0, length).CopyTo(batch.Next());
        batch.Commit(length, default);
    }

    /// <summary>Sends what was gathered: one sendmmsg per bind, then one write per device packet. Outside the shard's lock.</summary>
    public void Flush()
    {
        for (int i = 0; i < _binds.Length; i++)
        {
            if (_binds[i] is { Count: > 0 } batch) FlushBind(i, batch);
        }
        for (int i = 0; i < _devices.Length; i++)
        {
            if (_devices[i] is { Count: > 0 } batch) FlushDevice(i, batch);
        }
    }

    private void FlushBind(int index, UdpBatch batch)
    {
        int lost;
        try { lost = shard.Binds[index]!.Send(batch); }
        catch (ObjectDisposedException)
        {
            // Closed under us: at shutdown, or a role that closed a bind it no longer needs.
            lost = batch.Count;
        }
        batch.Clear();
        shard.CountSendErrors(lost);
    }

    private void FlushDevice(int index, UdpBatch batch)
    {
        var device = shard.Device(index);
        int lost = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            // Not attached yet (the client's TUN comes up after qualification starts) or gone: lost.
            if (device is null || !device.TryWrite(batch.Committed(i))) lost++;
        }
        batch.Clear();
        shard.CountSendErrors(lost);
    }

    public void Dispose()
    {
        foreach (var b in _binds) b?.Dispose();
        foreach (var d in _devices) d?.Dispose();
    }
}
