using System.Text;
using System.Runtime.InteropServices;
using Teredo.Wire;

namespace Teredo.Hosting.Tun;

/// <summary>
/// A Linux TUN interface (IFF_TUN | IFF_NO_PI): every read is one whole IP packet, every write one packet.
/// The descriptor is non-blocking and a read that finds nothing waits in poll() on it and on an eventfd,
/// so Dispose from another thread wakes the reader at once and a quiet device still returns 0 every
/// <see cref="ReadTimeoutMilliseconds"/>. The device is not persistent: the kernel removes the interface
/// when its last queue is disposed (or the process dies), so a crash leaves nothing behind.
/// </summary>
public sealed unsafe class LinuxTun : ITunDevice
{
    public const string DevicePath = "/dev/net/tun";
    public const int DefaultReadTimeoutMilliseconds = 250;

    private readonly FileDescriptor _tun;
    private readonly FileDescriptor _wake;
    // SIOCGIFMTU needs a socket in the device's namespace, which the calling thread may not be in.
    private readonly FileDescriptor _control;
    private int _disposed;
    private long _truncatedReads;
    private long _droppedWrites;

    private LinuxTun(FileDescriptor tun, FileDescriptor wake, FileDescriptor control, string name, string? networkNamespace)
    {
        _tun = tun;
        _wake = wake;
        _control = control;
        Name = name;
        NetworkNamespace = networkNamespace;
    }

    public string Name { get; }

    /// <summary>The namespace the interface was created in (null: the caller's at the time).</summary>
    public string? NetworkNamespace { get; }

    /// <summary>How long <see cref="Read"/> waits for a packet before returning 0.</summary>
    public int ReadTimeoutMilliseconds { get; set; } = DefaultReadTimeoutMilliseconds;

    /// <summary>Packets dropped because the read buffer was smaller than the packet (the kernel would hand them over cut short).</summary>
    public long TruncatedReads => Interlocked.Read(ref _truncatedReads);

    /// <summary>Packets dropped because the kernel had no room for them right now (EAGAIN), as a congested link would.</summary>
    public long DroppedWrites => Interlocked.Read(ref _droppedWrites);

    /// <summary>Asks the kernel each time, so a change made with <c>ip link set mtu</c> shows.</summary>
    public int Mtu
    {
        get
        {
            bool added = false;
            _control.DangerousAddRef(ref added);
            try
            {
                TunNative.IfReq request = NameRequest(Name);
                if (TunNative.ioctl(_control.Fd, TunNative.SiocGIfMtu, &request) != 0) throw TunNative.Error($"SIOCGIFMTU {Name}");
                return request.Mtu;
            }
            finally { if (added) _control.DangerousRelease(); }
        }
    }

    public static bool IsAvailable => File.Exists(DevicePath);

    /// <summary>
    /// Creates (or attaches to an existing persistent) single-queue TUN interface. <paramref name="name"/>
    /// may be null for a kernel-chosen "tunN", or a template such as "teredo%d"; <see cref="Name"/> is the
    /// name the kernel actually gave. With <paramref name="networkNamespace"/> (an <c>ip netns</c> name or
    /// a /proc/PID/ns/net path) the interface is created inside that namespace rather than moved there.
    /// </summary>
    public static LinuxTun Open(string? name = null, string? networkNamespace = null) =>
        Tun.NetworkNamespace.Run(networkNamespace, () => OpenQueue(name, TunNative.IffTun | TunNative.IffNoPi, networkNamespace));

    /// <summary>
    /// Creates a multi-queue interface (IFF_MULTI_QUEUE) with <paramref name="queues"/> queues: one device
    /// each, all sharing one interface name, for one reader thread each. The kernel spreads outgoing
    /// flows over the queues by hash; any queue may be written.
    /// </summary>
    public static LinuxTun[] OpenQueues(string? name, int queues, string? networkNamespace = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        return Tun.NetworkNamespace.Run(networkNamespace, () =>
        {
            var opened = new List<LinuxTun>(queues);
            try
            {
                const short flags = TunNative.IffTun | TunNative.IffNoPi | TunNative.IffMultiQueue;
                // The first queue fixes the name (perhaps chosen by the kernel); the others attach to it.
                opened.Add(OpenQueue(name, flags, networkNamespace));
                while (opened.Count < queues) opened.Add(OpenQueue(opened[0].Name, flags, networkNamespace));
                return opened.ToArray();
            }
            catch
            {
                foreach (var queue in opened) queue.Dispose();
                throw;
            }
        });
    }

    private static LinuxTun OpenQueue(string? name, short flags, string? networkNamespace)
    {
        if (name is not null && (name.Length >= TunNative.IfNameSize || !Ascii.IsValid(name)))
            throw new ArgumentException($"interface name '{name}' must be ASCII and at most {TunNative.IfNameSize - 1} characters", nameof(name));
        FileDescriptor? tun = null, wake = null, control = null;
        try
        {
            tun = Check(TunNative.open(DevicePath, TunNative.ORdWr | TunNative.ONonBlock | TunNative.OCloExec), $"open {DevicePath}");
            TunNative.IfReq request = NameRequest(name ?? "");
            request.Flags = flags;
            if (TunNative.ioctl(tun.Fd, TunNative.TunSetIff, &request) != 0)
                throw TunNative.Error($"TUNSETIFF '{name ?? "(kernel-chosen)"}' (needs CAP_NET_ADMIN; a name in use by another device is refused)");
            string actual = Encoding.ASCII.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(request.Name));
            wake = Check(TunNative.eventfd(0, TunNative.EfdNonBlock | TunNative.EfdCloExec), "eventfd");
            control = Check(TunNative.socket(TunNative.AfInet, TunNative.SockDgram | TunNative.SockCloExec, 0), "socket");
            return new LinuxTun(tun, wake, control, actual, networkNamespace);
        }
        catch
        {
            tun?.Dispose();
            wake?.Dispose();
            control?.Dispose();
            throw;
        }
    }

    private static FileDescriptor Check(int fd, string what) => fd >= 0 ? new FileDescriptor(fd) : throw TunNative.Error(what);

    private static TunNative.IfReq NameRequest(string name)
    {
        TunNative.IfReq request = default;
        Encoding.ASCII.GetBytes(name, new Span<byte>(request.Name, TunNative.IfNameSize - 1));
        return request;
    }

    /// <summary>
    /// TUNSETPERSIST: a persistent interface outlives its descriptors (Tayga's --mktun), so routes and
    /// firewall rules can be set before a daemon attaches; clearing it lets the kernel remove the
    /// interface when this last descriptor closes (--rmtun).
    /// </summary>
    public void SetPersistent(bool persistent)
    {
        bool added = false;
        _tun.DangerousAddRef(ref added);
        try
        {
            if (TunNative.ioctl(_tun.Fd, TunNative.TunSetPersist, (void*)(persistent ? 1 : 0)) != 0)
                throw TunNative.Error($"TUNSETPERSIST {Name} {(persistent ? 1 : 0)}");
        }
        finally { if (added) _tun.DangerousRelease(); }
    }

    public int Read(Span<byte> packet) => Read(packet, ReadTimeoutMilliseconds);

    public int TryRead(Span<byte> packet) => Read(packet, 0);

    private int Read(Span<byte> packet, int timeoutMilliseconds)
    {
        if (packet.IsEmpty) throw new ArgumentException("the read buffer is empty", nameof(packet));
        bool tunAdded = false, wakeAdded = false;
        try
        {
            try
            {
                _tun.DangerousAddRef(ref tunAdded);
                _wake.DangerousAddRef(ref wakeAdded);
            }
            catch (ObjectDisposedException) { return 0; }
            return ReadQueued(packet, timeoutMilliseconds);
        }
        finally
        {
            if (wakeAdded) _wake.DangerousRelease();
            if (tunAdded) _tun.DangerousRelease();
        }
    }

    // Read first and poll only when the queue is empty: under load the poll() never happens.
    private int ReadQueued(Span<byte> packet, int timeoutMilliseconds)
    {
        long deadline = Environment.TickCount64 + timeoutMilliseconds;
        TunNative.PollFd* fds = stackalloc TunNative.PollFd[2];
        fixed (byte* buffer = packet)
        {
            while (Volatile.Read(ref _disposed) == 0)
            {
                nint n = TunNative.read(_tun.Fd, buffer, (nuint)packet.Length);
                if (n >= 0)
                {
                    // The kernel cuts a packet to the buffer without saying so; only a full buffer can hide that.
                    if (n == packet.Length && IsCutShort(packet))
                    {
                        Interlocked.Increment(ref _truncatedReads);
                        continue;
                    }
                    return (int)n;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == TunNative.Eintr) continue;
                if (errno != TunNative.Eagain)
                    throw TunNative.Error(errno == TunNative.Ebadfd ? $"read {Name} (the interface was deleted)" : $"read {Name}", errno);

                long wait = deadline - Environment.TickCount64;
                if (wait <= 0) return 0;
                fds[0] = new TunNative.PollFd { Fd = _tun.Fd, Events = TunNative.PollIn };
                fds[1] = new TunNative.PollFd { Fd = _wake.Fd, Events = TunNative.PollIn };
                int ready = TunNative.poll(fds, 2, (int)wait);
                if (ready == 0) return 0;
                if (ready < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    if (errno == TunNative.Eintr) continue;
                    throw TunNative.Error($"poll {Name}", errno);
                }
                if (fds[1].Revents != 0) return 0;
                // Readable, or an error condition that the next read reports.
            }
            return 0;
        }
    }

    /// <summary>Whether the IP header claims more bytes than <paramref name="packet"/> holds.</summary>
    private static bool IsCutShort(ReadOnlySpan<byte> packet) => IpVersion.Of(packet) switch
    {
        // A buffer too short for the header itself cut it. (A jumbogram's payload length is 0, so it
        // passes; TUN does not carry those anyway.)
        IpVersion.V6 => !Ipv6Packet.TryParseQuoted(packet, out var ip6) || Ipv6Packet.HeaderLength + ip6.PayloadLength > packet.Length,
        IpVersion.V4 => !Ipv4Packet.TryParseQuoted(packet, out var ip4) || ip4.TotalLength > packet.Length,
        _ => false,
    };

    public void Write(ReadOnlySpan<byte> packet)
    {
        bool added = false;
        _tun.DangerousAddRef(ref added);
        try
        {
            fixed (byte* buffer = packet)
            {
                while (true)
                {
                    if (TunNative.write(_tun.Fd, buffer, (nuint)packet.Length) >= 0) return;
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == TunNative.Eintr) continue;
                    if (errno == TunNative.Eagain)
                    {
                        Interlocked.Increment(ref _droppedWrites);
                        return;
                    }
                    throw TunNative.Error($"write {Name} ({packet.Length} bytes)", errno);
                }
            }
        }
        finally { if (added) _tun.DangerousRelease(); }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Wake any reader first; the descriptors close when the last reader lets go of them.
        ulong one = 1;
        TunNative.write(_wake.Fd, &one, sizeof(ulong));
        _tun.Dispose();
        _control.Dispose();
        _wake.Dispose();
    }

    public override string ToString() => NetworkNamespace is null ? Name : $"{Name} (netns {NetworkNamespace})";
}
