namespace Teredo.Hosting.Packets;

/// <summary>The packet host's sizes and clock; the defaults suit every Teredo role.</summary>
public sealed record PacketHostOptions
{
    /// <summary>Datagrams or device packets taken per wake-up and sent per sendmmsg.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Room for one packet, in and out: Teredo packets fit the 1280-byte MTU plus encapsulations, the
    /// server's answers add an origin indication; a longer datagram is cut by the kernel and then fails
    /// the engine's length check as malformed.
    /// </summary>
    public int SlotSize { get; init; } = 2048 + 256;

    /// <summary>Room an engine's answer may need beyond the largest packet it received (the server's origin indication and RA).</summary>
    public int OutputHeadroom { get; init; }

    /// <summary>The size of an output slot: <see cref="SlotSize"/> plus <see cref="OutputHeadroom"/>.</summary>
    public int OutputSlotSize => SlotSize + OutputHeadroom;

    /// <summary>Events an engine may have waiting for its handler; past it they are dropped and counted.</summary>
    public int EventCapacity { get; init; } = 1024;

    /// <summary>The longest a timer thread sleeps with nothing due, so that it still beats for the systemd watchdog.</summary>
    public int IdleTimerWakeMs { get; init; } = 1000;

    /// <summary>The engines' millisecond clock for the threaded driver (the manual driver is given the time).</summary>
    public Func<long> Clock { get; init; } = static () => Environment.TickCount64;

    /// <summary>A prefix for the threads' names ("teredo-relay"): they name the stuck loop in a watchdog report.</summary>
    public string ThreadPrefix { get; init; } = "teredo";

    /// <exception cref="ArgumentOutOfRangeException">A size out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BatchSize, 1024, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(SlotSize, 1280, nameof(SlotSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(SlotSize, 65536, nameof(SlotSize));
        ArgumentOutOfRangeException.ThrowIfNegative(OutputHeadroom, nameof(OutputHeadroom));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(OutputHeadroom, 65536, nameof(OutputHeadroom));
        ArgumentOutOfRangeException.ThrowIfLessThan(EventCapacity, 1, nameof(EventCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(IdleTimerWakeMs, 1, nameof(IdleTimerWakeMs));
        ArgumentNullException.ThrowIfNull(Clock, nameof(Clock));
    }
}
