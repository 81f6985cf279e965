namespace Teredo.Client;

/// <summary>The Teredo connectivity status of RFC 4380 §5.2.1.</summary>
public enum ClientState
{
    /// <summary>Created, nothing sent yet.</summary>
    Initial,
    /// <summary>Router Solicitations are out and no usable answer has come yet.</summary>
    Starting,
    /// <summary>The client has a Teredo address and may send and receive.</summary>
    Qualified,
    /// <summary>The server did not answer (or, with strict symmetric refusal, the NAT is symmetric); a new attempt follows later.</summary>
    Offline,
}
