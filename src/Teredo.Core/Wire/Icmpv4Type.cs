namespace Teredo.Wire;

/// <summary>ICMPv4 message types (RFC 792 and successors) the translator reads or writes.</summary>
public static class Icmpv4Type
{
    public const byte EchoReply = 0;
    public const byte DestinationUnreachable = 3;
    public const byte SourceQuench = 4;
    public const byte Redirect = 5;
    public const byte EchoRequest = 8;
    public const byte TimeExceeded = 11;
    public const byte ParameterProblem = 12;
}
