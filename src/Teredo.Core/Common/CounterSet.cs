using System.Runtime.CompilerServices;

namespace Teredo.Common;

/// <summary>
/// One 64-bit counter per value of an int-backed enum, in a plain array: counting a packet's outcome
/// is one increment with no lookup. Written by one engine thread; readers (status views) may read
/// concurrently and see a value at most one update old.
/// </summary>
public abstract class CounterSet<TCounter> where TCounter : struct, Enum
{
    private readonly long[] _values = new long[All.Count];

    public static IReadOnlyList<TCounter> All { get; } = Enum.GetValues<TCounter>();

    public long this[TCounter counter] => Volatile.Read(ref _values[Index(counter)]);

    internal void Increment(TCounter counter) => _values[Index(counter)]++;

    internal void Add(TCounter counter, long n) => _values[Index(counter)] += n;

    private static int Index(TCounter counter) => Unsafe.As<TCounter, int>(ref counter);
}
