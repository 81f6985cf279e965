namespace Teredo.Client;

/// <summary>What the qualification probes found out about the NAT in front of the client (RFC 4380 §5.2.1).</summary>
public enum NatType
{
    /// <summary>Not known (yet): the probes are still out, or the secondary server address never answered.</summary>
    Unknown,
    /// <summary>An RA sent from the server's other address got through: unsolicited traffic reaches the mapping.</summary>
    Cone,
    /// <summary>Both server addresses saw the same mapping, but the cone probe's answer was filtered.</summary>
    Restricted,
    /// <summary>The two server addresses saw different mappings.</summary>
    Symmetric,
}
