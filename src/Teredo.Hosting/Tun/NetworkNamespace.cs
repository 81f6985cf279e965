using System.Runtime.ExceptionServices;

namespace Teredo.Hosting.Tun;

/// <summary>
/// Runs a short piece of code inside a named network namespace (one made by <c>ip netns add</c>).
/// Network namespaces belong to threads, not processes, so setns(2) on a dedicated thread moves only
/// that thread and leaves the runtime's other threads where they were. Whatever that code creates —
/// a TUN device, a socket — stays in the namespace for its whole life, used from any thread.
/// </summary>
public static class NetworkNamespace
{
    /// <summary>Where <c>ip netns</c> keeps its namespaces, or an absolute path such as /proc/PID/ns/net.</summary>
    public static string PathOf(string name) =>
        name.StartsWith('/') ? name : Path.Combine("/run/netns", name);

    /// <summary>
    /// Runs <paramref name="action"/> on a new thread that has entered namespace <paramref name="name"/>
    /// (the current namespace when null). The action must not start threads or queue thread-pool work:
    /// a thread created from inside would be born in the namespace and stay there.
    /// </summary>
    public static T Run<T>(string? name, Func<T> action)
    {
        if (name is null) return action();
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try { result = RunInside(name, action); }
            catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); }
        }, maxStackSize: 256 * 1024)
        { IsBackground = true, Name = "netns " + name };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    public static void Run(string? name, Action action) => Run<object?>(name, () => { action(); return null; });

    private static T RunInside<T>(string name, Func<T> action)
    {
        // The way back, in case the action is followed by anything on this thread before it exits.
        int home = TunNative.open("/proc/thread-self/ns/net", TunNative.ORdOnly | TunNative.OCloExec);
        if (home < 0) throw TunNative.Error("open /proc/thread-self/ns/net");
        try
        {
            string path = PathOf(name);
            int target = TunNative.open(path, TunNative.ORdOnly | TunNative.OCloExec);
            if (target < 0) throw TunNative.Error($"open network namespace {path}");
            try
            {
                if (TunNative.setns(target, TunNative.CloneNewNet) != 0) throw TunNative.Error($"setns {path}");
            }
            finally { TunNative.close(target); }
            try { return action(); }
            finally
            {
                if (TunNative.setns(home, TunNative.CloneNewNet) != 0)
                    throw TunNative.Error("setns back to the original network namespace");
            }
        }
        finally { TunNative.close(home); }
    }
}
