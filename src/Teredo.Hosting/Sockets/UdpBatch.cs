using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Teredo.Hosting.Systemd;
using Teredo.Net;

namespace Teredo.Hosting.Sockets;

/// <summary>
/// A set of datagram slots in native memory for recvmmsg/sendmmsg: one system call moves up to
/// <see cref="Capacity"/> datagrams, which is where a UDP daemon's time goes. Allocated once per thread;
/// nothing is allocated per packet. Not thread-safe.
/// </summary>
public sealed unsafe class UdpBatch : IDisposable
{
    private const ushort AfInet = 2;

    private readonly byte* _buffers;
    private readonly LibC.IoVec* _iov;
    private readonly LibC.SockAddrIn* _addresses;
    private readonly LibC.MMsgHdr* _messages;
    private readonly LibC.MMsgHdr* _segmented;
    private readonly byte* _controls;
    private readonly int* _segmentsPerMessage;
    private readonly int _slotSize;

    /// <summary>Room for one cmsghdr carrying a 16-bit UDP_SEGMENT size, rounded up to 8 bytes.</summary>
    private const int ControlSize = 24;
    /// <summary>What one segmented send may carry: the IPv4 datagram limit, less headers, and the kernel's segment cap.</summary>
    private const int MaxSegmentedBytes = 65000;
    private const int MaxSegments = 64;

    public UdpBatch(int capacity, int slotSize)
    {
        Capacity = capacity;
        _slotSize = slotSize;
        _buffers = (byte*)NativeMemory.AlignedAlloc((nuint)(capacity * slotSize), 64);
        _iov = (LibC.IoVec*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(LibC.IoVec)));
        _addresses = (LibC.SockAddrIn*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(LibC.SockAddrIn)));
        _messages = (LibC.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(LibC.MMsgHdr)));
        _segmented = (LibC.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(LibC.MMsgHdr)));
        _controls = (byte*)NativeMemory.AllocZeroed((nuint)(capacity * ControlSize));
        _segmentsPerMessage = (int*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(int)));
        for (int i = 0; i < capacity; i++)
        {
            _iov[i].Base = _buffers + i * slotSize;
            _iov[i].Length = (nuint)slotSize;
            _messages[i].Header.Iov = &_iov[i];
            _messages[i].Header.IovLength = 1;
            _messages[i].Header.Name = &_addresses[i];
        }
    }

    public int Capacity { get; }

    /// <summary>
    /// Send consecutive datagrams for the same destination as one UDP GSO message (UDP_SEGMENT, Linux
    /// 4.18+): the kernel then walks its stack once per run instead of once per datagram, the way NIC
    /// offloads work. Bulk traffic to one Teredo peer (full-MTU packets) is exactly that shape.
    /// </summary>
    public bool Segmentation { get; set; }
    public int SlotSize => _slotSize;
    /// <summary>Slots filled for the next <see cref="Send"/>.</summary>
    public int Count { get; private set; }

    /// <summary>The whole buffer of slot <paramref name="i"/>.</summary>
    public Span<byte> Slot(int i) => new(_buffers + i * _slotSize, _slotSize);

    /// <summary>The datagram received into slot <paramref name="i"/>.</summary>
    public Span<byte> Received(int i) => new(_buffers + i * _slotSize, (int)_messages[i].Length);

    public Ipv4Endpoint Source(int i) =>
        new(new Ipv4Address(BinaryPrimitives.ReverseEndianness(_addresses[i].Address)), BinaryPrimitives.ReverseEndianness(_addresses[i].Port));

    /// <summary>
    /// Waits for at least one datagram (or the socket's receive timeout) and takes as many as are
    /// queued, up to the capacity; with <paramref name="wait"/> false, only what is already queued.
    /// Returns the count; 0 on timeout or interruption. Every call is the calling packet loop's proof of
    /// life for the systemd watchdog.
    /// </summary>
    public int Receive(Socket socket, bool wait = true)
    {
        LoopLiveness.Beat();
        for (int i = 0; i < Capacity; i++)
        {
            _iov[i].Length = (nuint)_slotSize;
            _messages[i].Header.NameLength = (uint)sizeof(LibC.SockAddrIn);
            _messages[i].Header.Flags = 0;
        }
        int n = LibC.recvmmsg((int)socket.SafeHandle.DangerousGetHandle(), _messages, (uint)Capacity,
            wait ? LibC.MsgWaitForOne : LibC.MsgDontWait, null);
        if (n >= 0) return n;
        int errno = Marshal.GetLastPInvokeError();
        if (errno is LibC.Eagain or LibC.Eintr) return 0;
        throw new SocketException(errno);
    }

    /// <summary>
    /// Puts a datagram in slot <paramref name="i"/> as if recvmmsg had received it from <paramref name="source"/>:
    /// the in-memory bind's receive. Longer datagrams are truncated to the slot, as the kernel does.
    /// </summary>
    public void SetReceived(int i, ReadOnlySpan<byte> datagram, Ipv4Endpoint source)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)i, (uint)Capacity, nameof(i));
        int length = Math.Min(datagram.Length, _slotSize);
        datagram[..length].CopyTo(Slot(i));
        _messages[i].Length = (uint)length;
        _addresses[i] = new LibC.SockAddrIn
        {
            Family = AfInet,
            Port = BinaryPrimitives.ReverseEndianness(source.Port),
            Address = BinaryPrimitives.ReverseEndianness(source.Address.Value),
        };
    }

    /// <summary>The datagram committed into slot <paramref name="i"/> for sending.</summary>
    public ReadOnlySpan<byte> Committed(int i) => new(_buffers + i * _slotSize, (int)_iov[i].Length);

    /// <summary>Where the datagram committed into slot <paramref name="i"/> goes.</summary>
    // One address per slot: recvmmsg writes the source there, sendmmsg reads the destination from it.
    public Ipv4Endpoint Destination(int i) => Source(i);

    /// <summary>Marks the first <paramref name="count"/> slots committed again, as they were: for load generators that resend one batch.</summary>
    public void Recommit(int count) => Count = count;

    /// <summary>Starts a new batch of outgoing datagrams.</summary>
    public void Clear() => Count = 0;

    /// <summary>The next free slot to write a datagram into; commit it with <see cref="Commit"/>.</summary>
    public Span<byte> Next() => Slot(Count);

    public bool IsFull => Count == Capacity;

    public void Commit(int length, Ipv4Endpoint destination)
    {
        int i = Count++;
        _iov[i].Length = (nuint)length;
        _addresses[i] = new LibC.SockAddrIn
        {
            Family = AfInet,
            Port = BinaryPrimitives.ReverseEndianness(destination.Port),
            Address = BinaryPrimitives.ReverseEndianness(destination.Address.Value),
        };
        _messages[i].Header.NameLength = (uint)sizeof(LibC.SockAddrIn);
    }

    /// <summary>
    /// Sends the committed datagrams and returns how many were lost: refused by the kernel (full buffer,
    /// an ICMP error pending) or, when the socket was already closed by a shutdown, none worth counting.
    /// </summary>
    public int SendReportingLoss(Socket socket)
    {
        int wanted = Count;
        try
        {
            return wanted - Send(socket);
        }
        catch (ObjectDisposedException)
        {
            Clear();
            return 0;
        }
    }

    /// <summary>Sends the committed datagrams; returns how many the kernel took (the rest are dropped, as UDP may).</summary>
    public int Send(Socket socket) => Segmentation ? SendSegmented(socket) : SendEach(socket);

    private int SendSegmented(Socket socket)
    {
        int messages = 0;
        for (int i = 0; i < Count;)
        {
            int size = (int)_iov[i].Length;
            int j = i + 1, total = size;
            // Every segment but the last has exactly the segment size; a shorter one ends the run.
            while (j < Count && j - i < MaxSegments && SameDestination(i, j) && (int)_iov[j].Length <= size
                   && total + (int)_iov[j].Length <= MaxSegmentedBytes)
            {
                total += (int)_iov[j].Length;
                bool last = (int)_iov[j].Length < size;
                j++;
                if (last) break;
            }
            var m = &_segmented[messages];
            m->Header.Name = &_addresses[i];
            m->Header.NameLength = (uint)sizeof(LibC.SockAddrIn);
            m->Header.Iov = &_iov[i];
            m->Header.IovLength = (nuint)(j - i);
            m->Header.Flags = 0;
            if (j - i > 1)
            {
                var c = (LibC.CMsgHdr*)(_controls + messages * ControlSize);
                c->Length = (nuint)(sizeof(LibC.CMsgHdr) + sizeof(ushort));
                c->Level = LibC.SolUdp;
                c->Type = LibC.UdpSegment;
                *(ushort*)(c + 1) = (ushort)size;
                m->Header.Control = c;
                m->Header.ControlLength = ControlSize;
            }
            else
            {
                m->Header.Control = null;
                m->Header.ControlLength = 0;
            }
            _segmentsPerMessage[messages++] = j - i;
            i = j;
        }

        int sentMessages = 0, delivered = 0;
        while (sentMessages < messages)
        {
            int n = LibC.sendmmsg((int)socket.SafeHandle.DangerousGetHandle(), _segmented + sentMessages, (uint)(messages - sentMessages), 0);
            if (n <= 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.Eintr) continue;
                sentMessages++;
                continue;
            }
            for (int k = 0; k < n; k++) delivered += _segmentsPerMessage[sentMessages + k];
            sentMessages += n;
        }
        Count = 0;
        return delivered;
    }

    private bool SameDestination(int a, int b) =>
        _addresses[a].Address == _addresses[b].Address && _addresses[a].Port == _addresses[b].Port;

    private int SendEach(Socket socket)
    {
        int sent = 0, dropped = 0;
        while (sent < Count)
        {
            int n = LibC.sendmmsg((int)socket.SafeHandle.DangerousGetHandle(), _messages + sent, (uint)(Count - sent), 0);
            if (n <= 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.Eintr) continue;
                // ECONNREFUSED from an earlier ICMP error or a full buffer: skip the datagram at fault.
                sent++;
                dropped++;
                continue;
            }
            sent += n;
        }
        Count = 0;
        return sent - dropped;
    }

    /// <summary>Sets SO_RCVTIMEO so blocking receives return periodically and threads can notice shutdown.</summary>
    public static void SetReceiveTimeout(Socket socket, TimeSpan timeout)
    {
        var tv = new LibC.TimeVal { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Milliseconds * 1000L };
        socket.SetRawSocketOption(LibC.SolSocket, LibC.SoRcvTimeo, new ReadOnlySpan<byte>(&tv, sizeof(LibC.TimeVal)));
    }

    private bool _freed;

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~UdpBatch() => Free();

    private void Free()
    {
        if (_freed) return;
        _freed = true;
        NativeMemory.AlignedFree(_buffers);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_addresses);
        NativeMemory.Free(_messages);
        NativeMemory.Free(_segmented);
        NativeMemory.Free(_controls);
        NativeMemory.Free(_segmentsPerMessage);
    }
}
