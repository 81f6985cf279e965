namespace Teredo.Hosting.Privileges;

/// <summary>
/// What a daemon started as root gives up once its TUN, sockets, routes and control socket exist: root
/// itself (--user, --group), every capability but <see cref="Keep"/>, and the ownership of the
/// directories it goes on writing. Linux keeps capabilities per thread and glibc's setuid moves every
/// thread off uid 0, so only the thread that calls <see cref="Apply"/> (and the ip/nft it starts) keeps
/// <see cref="Keep"/>; every other thread has none. The host calls it on the thread that later stops the
/// daemon (v4peer's nftables table and forwarding sysctl are undone there); the client, which changes
/// its address from its events thread, calls it on that thread.
/// </summary>
public sealed class PrivilegeDrop(uint? uid, uint? gid, IReadOnlyList<Capability> keep, IReadOnlyList<string> writable)
{
    public uint? Uid { get; } = uid;
    public uint? Gid { get; } = gid;
    public IReadOnlyList<Capability> Keep { get; } = keep;
    public IReadOnlyList<string> Writable { get; } = writable;
    public bool Applied { get; private set; }

    /// <summary>Null when neither a user nor a group was asked for: the daemon stays as it was started.</summary>
    /// <exception cref="InvalidOperationException">No such user or group.</exception>
    public static PrivilegeDrop? Resolve(string? user, string? group, Capability[] keep, params string?[] writable)
    {
        if (user is null && group is null) return null;
        var (uid, gid) = ProcessIdentity.Resolve(user, group);
        var directories = new List<string>();
        foreach (string? w in writable) if (w is not null) directories.Add(w);
        return new PrivilegeDrop(uid, gid, keep, directories);
    }

    /// <summary>On the calling thread; see the class summary for which thread that must be.</summary>
    public void Apply()
    {
        if (Applied) return;
        bool leavesRoot = Uid is uint u && u != 0;
        if (Uid is uint owner)
        {
            foreach (string d in Writable) ProcessIdentity.Own(d, owner, Gid ?? uint.MaxValue);
        }
        if (leavesRoot && Keep.Count > 0) ThreadCapabilities.KeepOnUidChange(true);
        ProcessIdentity.Drop(Uid, Gid);
        if (leavesRoot && Keep.Count > 0)
        {
            ThreadCapabilities.Limit(ThreadCapabilities.Mask(Keep));
            ThreadCapabilities.KeepOnUidChange(false);
        }
        Applied = true;
    }

    /// <summary>For the start-up log line: "uid 65534 gid 65534, keeping CAP_NET_ADMIN".</summary>
    public override string ToString()
    {
        string who = $"{(Uid is uint u ? $"uid {u}" : "uid unchanged")} {(Gid is uint g ? $"gid {g}" : "gid unchanged")}";
        if (Keep.Count == 0) return $"{who}, no capabilities";
        var names = new List<string>(Keep.Count);
        foreach (var c in Keep) names.Add(c switch
        {
            Capability.NetAdmin => "CAP_NET_ADMIN",
            Capability.NetRaw => "CAP_NET_RAW",
            Capability.NetBindService => "CAP_NET_BIND_SERVICE",
            _ => c.ToString(),
        });
        return $"{who}, keeping {string.Join(' ', names)}";
    }
}
