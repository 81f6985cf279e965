using Teredo.Engines;

namespace Teredo.Tests.Support;

/// <summary>
/// Two ways to drive an <see cref="IPacketEngine"/> through the same timed inputs: a host that calls the
/// timer every <c>step</c> ms (the old polling daemons) and one that jumps the clock straight to
/// <see cref="IPacketEngine.NextDeadlineMs"/> (the packet host). An engine whose deadline covers every timer
/// gives the same trace both ways. At a moment, the timer runs before that moment's inputs in both.
/// Inputs must lie on the step grid, so that the polling host sees every deadline on time.
/// </summary>
public static class DeadlineDrivers
{
    public sealed record Run(List<string> Trace, int Wakeups, long FinalDeadline);

    /// <param name="sink">Where the engine writes, the timer's and <paramref name="deliver"/>'s calls alike; taken after every call.</param>
    /// <param name="deliver">Feeds one input to the engine at a moment.</param>
    /// <param name="record">After every call: appends anything else the engine did (its events) to the trace, nothing when it did nothing.</param>
    public static Run Polling<TInput>(IPacketEngine engine, ListSink sink, IReadOnlyList<(long AtMs, TInput Input)> inputs, long endMs, long step,
        Action<TInput, long> deliver, Action<long, List<string>> record, Func<byte[], string>? format = null)
    {
        var trace = new List<string>();
        int next = 0, wakeups = 0;
        for (long now = 0; now <= endMs; now += step)
        {
            engine.OnTimer(now, sink);
            wakeups++;
            Take(sink, now, trace, format);
            record(now, trace);
            for (; next < inputs.Count && inputs[next].AtMs == now; next++)
            {
                deliver(inputs[next].Input, now);
                Take(sink, now, trace, format);
                record(now, trace);
            }
        }
        return new Run(trace, wakeups, engine.NextDeadlineMs);
    }

    public static Run Deadlines<TInput>(IPacketEngine engine, ListSink sink, IReadOnlyList<(long AtMs, TInput Input)> inputs, long endMs,
        Action<TInput, long> deliver, Action<long, List<string>> record, Func<byte[], string>? format = null)
    {
        var trace = new List<string>();
        int next = 0, wakeups = 0;
        long now = 0;
        while (true)
        {
            long due = engine.NextDeadlineMs;
            long input = next < inputs.Count ? inputs[next].AtMs : long.MaxValue;
            if (due > endMs && input == long.MaxValue) break;
            if (due <= input && due <= endMs)
            {
                // The clock jumps straight to the deadline (or stays, if it was due already).
                now = Math.Max(now, due);
                engine.OnTimer(now, sink);
                wakeups++;
                Assert.True(engine.NextDeadlineMs > now, $"after OnTimer({now}) the deadline is {engine.NextDeadlineMs}");
            }
            else
            {
                now = input;
                deliver(inputs[next].Input, now);
                next++;
                Assert.True(engine.NextDeadlineMs > now, $"after an input at {now} the deadline is {engine.NextDeadlineMs}");
            }
            Take(sink, now, trace, format);
            record(now, trace);
        }
        return new Run(trace, wakeups, engine.NextDeadlineMs);
    }

    /// <summary>Every packet the engine wrote, with the moment it left; <c>format</c> masks what is random by design.</summary>
    private static void Take(ListSink sink, long nowMs, List<string> trace, Func<byte[], string>? format)
    {
        foreach (var (route, to, bytes) in sink.Take()) trace.Add($"{nowMs} {route} {to} {(format ?? Convert.ToHexString)(bytes)}");
    }
}
