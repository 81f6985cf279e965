using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Support;

/// <summary>
/// An <see cref="IPacketOutput"/> that reuses one buffer and only counts, as a daemon's send slots would: for
/// the allocation tests, where the output itself must not allocate.
/// </summary>
public sealed class CountingOutput : IPacketOutput
{
    private readonly byte[] _buffer = new byte[4096];
    public int Committed;
    public Span<byte> Reserve(int maxLength) => _buffer;
    public void Send(PortHandle from, Ipv4Endpoint to, int length) => Committed++;
    public void Write(DeviceHandle device, int length) => Committed++;
}
