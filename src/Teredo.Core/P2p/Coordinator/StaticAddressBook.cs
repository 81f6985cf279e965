namespace Teredo.P2p.Coordinator;

/// <summary>
/// Makes a static address assignment durable before the peer hears of it. The host's implementation
/// returns only once the record is on disk (fsync), so a kill -9 at any moment loses no assignment a
/// peer was told about.
/// </summary>
public interface IStaticAssignmentJournal
{
    void Record(UInt128 identity, uint suffix);
}

/// <summary>
/// Identity → 24-bit static suffix, unique in the /64 and never reused for another identity. A suffix is
/// derived from the identity's hash (so a lost book would mostly rebuild the same suffixes) and probed
/// linearly past taken ones. Bounded: a full book gives new identities no static address.
/// </summary>
public sealed class StaticAddressBook
{
    private readonly Dictionary<UInt128, uint> _byIdentity = [];
    private readonly HashSet<uint> _taken = [];
    private readonly IStaticAssignmentJournal _journal;
    private readonly int _capacity;

    public StaticAddressBook(IStaticAssignmentJournal journal, int capacity, IEnumerable<KeyValuePair<UInt128, uint>> recovered)
    {
        _journal = journal;
        _capacity = capacity;
        foreach (var (identity, suffix) in recovered)
        {
            // The journal is append-only: a later record of the same identity (never written today) would win.
            if (suffix is 0 or > 0xFF_FFFF || !_taken.Add(suffix)) continue;
            if (_byIdentity.Remove(identity, out uint old)) _taken.Remove(old);
            _byIdentity[identity] = suffix;
        }
    }

    public int Count => _byIdentity.Count;

    public bool TryGet(UInt128 identity, out uint suffix) => _byIdentity.TryGetValue(identity, out suffix);

    /// <summary>The identity's suffix, assigning and journaling a new one when it has none; 0 when the book is full.</summary>
    public uint GetOrAssign(UInt128 identity, out bool assigned)
    {
        assigned = false;
        if (_byIdentity.TryGetValue(identity, out uint suffix)) return suffix;
        if (_byIdentity.Count >= _capacity) return 0;
        suffix = (uint)(Rendezvous.Mix((ulong)identity ^ (ulong)(identity >> 64)) & 0xFF_FFFF);
        while (suffix == 0 || _taken.Contains(suffix)) suffix = (suffix + 1) & 0xFF_FFFF;
        _journal.Record(identity, suffix);
        _taken.Add(suffix);
        _byIdentity[identity] = suffix;
        assigned = true;
        return suffix;
    }
}
