using Teredo.Common;

namespace Teredo.Tests.Support;

/// <summary>An <see cref="IRandomSource"/> that returns scripted values first, then a seeded sequence.</summary>
public sealed class ScriptedRandom(int seed = 5991, params ulong[] script) : IRandomSource
{
    private readonly Queue<ulong> _script = new(script);
    private readonly Random _fallback = new(seed);

    public void Push(params ulong[] values)
    {
        foreach (var v in values) _script.Enqueue(v);
    }

    public ulong NextUInt64() => _script.TryDequeue(out var v) ? v : (ulong)_fallback.NextInt64() ^ ((ulong)_fallback.Next() << 63);
}
