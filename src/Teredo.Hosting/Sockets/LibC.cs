using System.Runtime.InteropServices;

namespace Teredo.Hosting.Sockets;

/// <summary>The libc calls .NET has no API for: batched datagram I/O (recvmmsg/sendmmsg).</summary>
internal static unsafe partial class LibC
{
    public const int MsgWaitForOne = 0x10000;
    public const int MsgDontWait = 0x40;
    public const int SolSocket = 1;
    public const int SoRcvTimeo = 20;
    public const int Eagain = 11;
    public const int Eintr = 4;
    public const int SolUdp = 17;
    public const int UdpSegment = 103;

    /// <summary>A control message header (struct cmsghdr) as laid out on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CMsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrIn
    {
        public ushort Family;
        /// <summary>Network byte order.</summary>
        public ushort Port;
        /// <summary>Network byte order.</summary>
        public uint Address;
        public ulong Zero;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int recvmmsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sendmmsg(int fd, MMsgHdr* messages, uint count, int flags);
}
