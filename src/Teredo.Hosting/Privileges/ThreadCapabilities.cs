using System.Runtime.InteropServices;

namespace Teredo.Hosting.Privileges;

/// <summary>
/// capset(2) and prctl(2) for the calling thread. Linux keeps capabilities per thread: these calls change
/// the thread that makes them and, through fork, the programs it starts (ip, nft); no other thread.
/// </summary>
internal static unsafe partial class ThreadCapabilities
{
    private const uint Version3 = 0x20080522;
    private const int PrSetKeepCaps = 8;
    private const int PrCapAmbient = 47;
    private const nuint PrCapAmbientRaise = 2;

    /// <summary>PR_SET_KEEPCAPS: whether this thread's permitted set survives its uid leaving 0.</summary>
    public static void KeepOnUidChange(bool keep) => Check(prctl(PrSetKeepCaps, keep ? 1u : 0u, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)");

    /// <summary>
    /// Effective, permitted and inheritable become exactly <paramref name="mask"/> (each must already be
    /// permitted), then each is raised in the ambient set so that ip(8) and nft(8), run by this thread as
    /// a user without file capabilities, still get them across execve.
    /// </summary>
    public static void Limit(ulong mask)
    {
        var header = new Header { Version = Version3, Pid = 0 };
        var data = stackalloc Data[2];
        data[0] = new Data { Effective = (uint)mask, Permitted = (uint)mask, Inheritable = (uint)mask };
        data[1] = new Data { Effective = (uint)(mask >> 32), Permitted = (uint)(mask >> 32), Inheritable = (uint)(mask >> 32) };
        Check(capset(&header, data), "capset");
        for (int bit = 0; bit < 64; bit++)
        {
            if ((mask & (1UL << bit)) != 0) Check(prctl(PrCapAmbient, PrCapAmbientRaise, (nuint)bit, 0, 0), $"prctl(PR_CAP_AMBIENT_RAISE, {bit})");
        }
    }

    public static ulong Mask(IEnumerable<Capability> capabilities)
    {
        ulong mask = 0;
        foreach (var c in capabilities) mask |= 1UL << (int)c;
        return mask;
    }

    private static void Check(int result, string what)
    {
        if (result != 0) throw new InvalidOperationException($"{what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Header
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Data
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int capset(Header* header, Data* data);

    // prctl is variadic; every option used here takes unsigned long arguments, passed in registers.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
