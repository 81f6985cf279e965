using System.Buffers.Binary;
using Teredo.Hosting.P2p;
using Teredo.P2p.Coordinator;

namespace Teredo.Hosting.Coordinator;

/// <summary>
/// The static-address book on disk: an append-only journal of fixed 24-byte records
/// (identity 16 | suffix u32 | FNV-1a of the 20 bytes before, u32), each fsynced before the peer is
/// welcomed. A kill -9 can only cut the last record short, which was never acknowledged to anyone: the
/// loader keeps the valid prefix and truncates the rest, so later appends stay aligned.
/// </summary>
public sealed class StaticAssignmentJournal : IStaticAssignmentJournal, IDisposable
{
    public const string FileName = "static-addresses.journal";
    public const int RecordLength = 24;

    private readonly FileStream _file;
    private readonly byte[] _record = new byte[RecordLength];

    private StaticAssignmentJournal(FileStream file) => _file = file;

    /// <summary>Opens (creating) the journal in <paramref name="stateDirectory"/> and returns what it holds.</summary>
    public static StaticAssignmentJournal Open(string stateDirectory, out List<KeyValuePair<UInt128, uint>> recovered, out long discardedBytes)
    {
        Directory.CreateDirectory(stateDirectory);
        string path = Path.Combine(stateDirectory, FileName);
        bool created = !File.Exists(path);
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 4096, FileOptions.None);
        if (created) AtomicFile.SyncDirectory(stateDirectory);
        recovered = [];
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        int valid = 0;
        while (valid + RecordLength <= bytes.Length && TryRead(bytes.AsSpan(valid, RecordLength), out var identity, out uint suffix))
        {
            recovered.Add(new(identity, suffix));
            valid += RecordLength;
        }
        discardedBytes = bytes.Length - valid;
        if (discardedBytes > 0)
        {
            file.SetLength(valid);
            file.Flush(flushToDisk: true);
        }
        file.Seek(0, SeekOrigin.End);
        return new StaticAssignmentJournal(file);
    }

    public void Record(UInt128 identity, uint suffix)
    {
        Write(_record, identity, suffix);
        _file.Write(_record);
        _file.Flush(flushToDisk: true);
    }

    public static void Write(Span<byte> record, UInt128 identity, uint suffix)
    {
        BinaryPrimitives.WriteUInt128BigEndian(record, identity);
        BinaryPrimitives.WriteUInt32BigEndian(record.Slice(16), suffix);
        BinaryPrimitives.WriteUInt32BigEndian(record.Slice(20), Fnv1a(record.Slice(0, 20)));
    }

    public static bool TryRead(ReadOnlySpan<byte> record, out UInt128 identity, out uint suffix)
    {
        identity = BinaryPrimitives.ReadUInt128BigEndian(record);
        suffix = BinaryPrimitives.ReadUInt32BigEndian(record.Slice(16));
        return BinaryPrimitives.ReadUInt32BigEndian(record.Slice(20)) == Fnv1a(record.Slice(0, 20)) && suffix is > 0 and <= 0xFF_FFFF;
    }

    private static uint Fnv1a(ReadOnlySpan<byte> data)
    {
        uint h = 2166136261;
        foreach (byte b in data) h = (h ^ b) * 16777619;
        return h;
    }

    public void Dispose() => _file.Dispose();
}
