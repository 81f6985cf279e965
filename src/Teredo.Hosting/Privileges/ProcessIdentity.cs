using System.Globalization;
using System.Runtime.InteropServices;

namespace Teredo.Hosting.Privileges;

/// <summary>
/// The user and group a daemon becomes once its TUN, sockets and routes are set up (every daemon's
/// --user, Tayga's -u USER / -g GROUP), so a bug reachable from the network runs without root. Names or
/// numbers; the group defaults to the user's primary group, and supplementary groups are cleared.
/// glibc applies setuid to every thread; which capabilities survive is <see cref="PrivilegeDrop"/>'s business.
/// </summary>
public static unsafe partial class ProcessIdentity
{
    public static (uint? Uid, uint? Gid) Resolve(string? user, string? group)
    {
        uint? uid = null, gid = null;
        if (user is not null)
        {
            if (uint.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out uint u)) uid = u;
            else
            {
                Passwd* pw = getpwnam(user);
                if (pw == null) throw new InvalidOperationException($"no user '{user}'");
                uid = pw->Uid;
                gid = pw->Gid;
            }
        }
        if (group is not null)
        {
            if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out uint g)) gid = g;
            else
            {
                Group* gr = getgrnam(group);
                if (gr == null) throw new InvalidOperationException($"no group '{group}'");
                gid = gr->Gid;
            }
        }
        return (uid, gid);
    }

    /// <summary>Group first (a process that gave up its uid can no longer change its group).</summary>
    public static void Drop(uint? uid, uint? gid)
    {
        if (gid is uint g)
        {
            if (setgroups(0, null) != 0) throw Error("setgroups");
            if (setgid(g) != 0) throw Error($"setgid {g}");
        }
        if (uid is uint u && setuid(u) != 0) throw Error($"setuid {u}");
    }

    /// <summary>
    /// Hands a directory the daemon keeps writing (state, data-dir) and what it holds to the user it is
    /// about to become: created by root at the first start, it would otherwise be read-only to it.
    /// </summary>
    public static void Own(string directory, uint uid, uint gid)
    {
        if (!Directory.Exists(directory)) return;
        if (lchown(directory, uid, gid) != 0) throw Error($"chown {directory}");
        foreach (string entry in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories))
        {
            if (lchown(entry, uid, gid) != 0) throw Error($"chown {entry}");
        }
    }

    private static InvalidOperationException Error(string what) =>
        new($"{what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    // struct passwd and struct group on 64-bit Linux: two pointers, then the ids.
    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public nint Name;
        public nint Password;
        public uint Uid;
        public uint Gid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Group
    {
        public nint Name;
        public nint Password;
        public uint Gid;
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial Passwd* getpwnam(string name);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial Group* getgrnam(string name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setgroups(nuint size, uint* list);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setgid(uint gid);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setuid(uint uid);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, uint uid, uint gid);
}
