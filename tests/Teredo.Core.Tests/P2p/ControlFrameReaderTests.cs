using Teredo.Hosting.P2p;
using Teredo.P2p.Control;

namespace Teredo.Tests.P2p;

/// <summary>
/// The frame reader over a scripted stream: frames split over reads, several in one read, and no buffer
/// held while nothing is pending (an idle session of the coordinator costs no buffer).
/// </summary>
public sealed class ControlFrameReaderTests
{
    /// <summary>Hands out the given chunks one read at a time; zero-byte reads are counted and return 0.</summary>
    private sealed class ChunkStream(params byte[][] chunks) : Stream
    {
        private int _next;
        public int ZeroByteReads { get; private set; }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.Length == 0)
            {
                ZeroByteReads++;
                return ValueTask.FromResult(0);
            }
            if (_next == chunks.Length) return ValueTask.FromResult(0);
            var chunk = chunks[_next++];
            Assert.True(chunk.Length <= buffer.Length);
            chunk.CopyTo(buffer.Span);
            return ValueTask.FromResult(chunk.Length);
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // keepalive 7: 0005 03 00000007 (docs/p2p-protocol.md)
    private static readonly byte[] Keepalive7 = Convert.FromHexString("00050300000007");
    private static readonly byte[] Keepalive8 = Convert.FromHexString("00050300000008");

    private static List<uint> Drain(ControlFrameReader reader)
    {
        var seen = new List<uint>();
        while (reader.TryNext(out var type, out var body) == FrameReadStatus.Complete)
        {
            Assert.Equal(ControlMessageType.Keepalive, type);
            Assert.True(KeepaliveMessage.TryParseBody(body, out var k));
            seen.Add(k.Sequence);
        }
        return seen;
    }

    [Fact]
    public async Task Frames_split_over_reads_and_packed_in_one_read_come_out_whole_and_an_idle_reader_holds_no_buffer()
    {
        var stream = new ChunkStream(Keepalive7[..2], Keepalive7[2..], [.. Keepalive7, .. Keepalive8], [.. Keepalive7, .. Keepalive8[..4]], Keepalive8[4..]);
        using var reader = new ControlFrameReader();
        Assert.False(reader.HoldsBuffer);
        var seen = new List<uint>();
        while (await reader.FillAsync(stream, CancellationToken.None)) seen.AddRange(Drain(reader));
        Assert.Equal([7u, 7u, 8u, 7u, 8u], seen);
        Assert.False(reader.HoldsBuffer); // everything consumed: the buffer went back to the pool
        // A zero-byte wait before each read that found nothing pending (first, third, fourth chunk, and the end).
        Assert.Equal(4, stream.ZeroByteReads);
    }

    [Fact]
    public async Task A_partial_frame_keeps_the_buffer_until_it_is_complete()
    {
        var stream = new ChunkStream(Keepalive7[..3], Keepalive7[3..]);
        using var reader = new ControlFrameReader();
        Assert.True(await reader.FillAsync(stream, CancellationToken.None));
        Assert.Empty(Drain(reader));
        Assert.True(reader.HoldsBuffer);
        Assert.True(await reader.FillAsync(stream, CancellationToken.None));
        Assert.Equal([7u], Drain(reader));
        Assert.False(await reader.FillAsync(stream, CancellationToken.None));
        Assert.False(reader.HoldsBuffer);
    }
}
