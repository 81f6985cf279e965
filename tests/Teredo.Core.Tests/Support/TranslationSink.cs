using Teredo.Nat64;

namespace Teredo.Tests.Support;

/// <summary>
/// An <see cref="ITranslationSink"/> that keeps every packet. Reserve hands out exactly the length asked
/// for, filled with 0xA5, so that a translator writing past its reservation or leaving bytes unwritten fails.
/// </summary>
public sealed class TranslationSink : ITranslationSink
{
    private byte[] _scratch = new byte[65536 + 1024];
    private int _reserved;

    public List<byte[]> Packets { get; } = [];

    public Span<byte> Reserve(int maxLength)
    {
        if (_scratch.Length < maxLength) _scratch = new byte[maxLength];
        _reserved = maxLength;
        var span = _scratch.AsSpan(0, maxLength);
        span.Fill(0xA5);
        return span;
    }

    public void Commit(int length)
    {
        if (length > _reserved) throw new InvalidOperationException($"committed {length} bytes of a {_reserved}-byte reservation");
        Packets.Add(_scratch[..length]);
    }

    public List<byte[]> Take()
    {
        var taken = Packets.ToList();
        Packets.Clear();
        return taken;
    }
}

/// <summary>A sink that reuses one buffer and keeps nothing: for allocation tests and benchmarks.</summary>
public sealed class DiscardingTranslationSink : ITranslationSink
{
    private readonly byte[] _buffer = new byte[65536 + 1024];

    public int Count { get; private set; }
    public int LastLength { get; private set; }

    public Span<byte> Reserve(int maxLength) => _buffer.AsSpan(0, maxLength);

    public void Commit(int length)
    {
        Count++;
        LastLength = length;
    }
}
