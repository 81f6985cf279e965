using System.Text.Json;
using Teredo.Peers;

namespace Teredo.Hosting.Control;

/// <summary>
/// A peer list in a status (the client's and the relay's): its size and limits, then the newest entries,
/// each as an object the role fills. At most <see cref="MaxShown"/>, so that a full table of a million
/// entries never makes a status answer megabytes long.
/// </summary>
public static class PeerListJson
{
    public const int MaxShown = 50;

    public static void Write(Utf8JsonWriter j, PeerList peers, Action<Utf8JsonWriter, Peer> entry)
    {
        j.WriteNumber("peerCount", peers.Count);
        j.WriteNumber("peerCapacity", peers.Capacity);
        j.WriteNumber("queuedBytes", peers.QueuedBytes);
        j.WriteNumber("evictions", peers.Evictions);
        j.WriteStartArray("peers");
        int shown = 0;
        foreach (var p in peers.NewestFirst())
        {
            if (shown++ == MaxShown) break;
            j.WriteStartObject();
            j.WriteString("address", p.Address.ToString());
            entry(j, p);
            j.WriteEndObject();
        }
        j.WriteEndArray();
    }
}
