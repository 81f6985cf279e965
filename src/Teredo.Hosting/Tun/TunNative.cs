using System.Runtime.InteropServices;

namespace Teredo.Hosting.Tun;

/// <summary>
/// The libc calls behind the TUN device. .NET's FileStream would do for read/write, but it cannot poll a
/// second descriptor, and that is what lets Dispose wake a blocked reader at once.
/// </summary>
internal static unsafe partial class TunNative
{
    // Values from the Linux UAPI headers (x86-64 and arm64 agree on all of them).
    public const int ORdWr = 0x2;
    public const int ORdOnly = 0x0;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;
    public const int EfdNonBlock = 0x800;
    public const int EfdCloExec = 0x80000;
    public const int CloneNewNet = 0x40000000;
    public const int AfInet = 2;
    public const int SockDgram = 2;
    public const int SockCloExec = 0x80000;

    public const short IffTun = 0x0001;
    public const short IffMultiQueue = 0x0100;
    public const short IffNoPi = 0x1000;
    public const nuint TunSetIff = 0x400454CA;
    public const nuint TunSetPersist = 0x400454CB;
    public const nuint SiocGIfMtu = 0x8921;
    public const int IfNameSize = 16;

    public const short PollIn = 0x001;
    public const short PollErr = 0x008;
    public const short PollHup = 0x010;
    public const short PollNval = 0x020;

    public const int Eintr = 4;
    public const int Eagain = 11;
    public const int Ebadfd = 77;

    /// <summary>struct ifreq: the name, then a union (flags for TUNSETIFF, the MTU for SIOCGIFMTU).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    public struct IfReq
    {
        [FieldOffset(0)] public fixed byte Name[IfNameSize];
        [FieldOffset(16)] public short Flags;
        [FieldOffset(16)] public int Mtu;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initialValue, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setns(int fd, int namespaceType);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    /// <summary>An IOException carrying errno's text, for the call that just failed.</summary>
    public static IOException Error(string what)
    {
        int errno = Marshal.GetLastPInvokeError();
        return Error(what, errno);
    }

    public static IOException Error(string what, int errno) =>
        new($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
}
