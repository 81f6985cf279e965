namespace Teredo.Nat64;

/// <summary>
/// Where the translator writes translated packets and the ICMP errors it originates: straight into the
/// host's TUN write buffers (or a list in tests). One packet per Reserve/Commit pair.
/// </summary>
public interface ITranslationSink
{
    /// <summary>A buffer of at least <paramref name="maxLength"/> bytes for the next output packet.</summary>
    Span<byte> Reserve(int maxLength);

    /// <summary>The packet in the last reserved buffer is done; it is IPv4 or IPv6 (the version nibble says which).</summary>
    void Commit(int length);
}
