namespace Teredo.Wire;

/// <summary>TCP header field offsets (RFC 9293 §3.1) the translator needs: it only rewrites the checksum.</summary>
public static class TcpSegment
{
    internal static class Field
    {
        public const int SourcePort = 0;
        public const int DestinationPort = 2;
        public const int Checksum = 16;
    }

    public const int MinHeaderLength = 20;
    public const int ChecksumOffset = Field.Checksum;
}
