namespace Teredo.Addressing;

/// <summary>
/// The 16 flag bits of a Teredo address. RFC 4380 §4 defines only the cone bit C; RFC 5991 §4 lays the
/// rest out as <c>CRAAAAUG AAAAAAAA</c>: R reserved (zero), UG zero (not a global EUI-64 identifier), and
/// 12 random bits A that make the address hard to guess for a scanner.
/// </summary>
public readonly record struct TeredoFlags(ushort Value)
{
    public const ushort ConeMask = 0x8000;
    public const ushort ReservedMask = 0x4000;
    public const ushort UniversalGroupMask = 0x0300;
    /// <summary>The A bits: 4 in the first octet (bits 2-5), 8 in the second.</summary>
    public const ushort RandomMask = 0x3CFF;

    public static readonly TeredoFlags None = new(0);
    public static readonly TeredoFlags Cone = new(ConeMask);

    public bool IsCone => (Value & ConeMask) != 0;
    public bool ReservedBit => (Value & ReservedMask) != 0;
    public bool UniversalGroupBits => (Value & UniversalGroupMask) != 0;

    /// <summary>The 12 random bits packed as a number 0..4095 (first-octet bits high).</summary>
    public ushort RandomBits => (ushort)(((Value >> 10) & 0xF) << 8 | (Value & 0xFF));

    public static TeredoFlags Create(bool cone, ushort randomBits)
    {
        if (randomBits > 0xFFF) throw new ArgumentOutOfRangeException(nameof(randomBits), "12 bits at most");
        return new TeredoFlags((ushort)((cone ? ConeMask : 0) | (randomBits >> 8) << 10 | (randomBits & 0xFF)));
    }

    /// <summary>Flags for a new qualification: the cone bit as detected and fresh random bits (RFC 5991 §4).</summary>
    public static TeredoFlags CreateRandom(bool cone, Random random) => Create(cone, (ushort)random.Next(0, 0x1000));

    public override string ToString() => $"0x{Value:x4}";
}
