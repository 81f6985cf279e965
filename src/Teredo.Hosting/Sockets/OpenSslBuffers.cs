using System.Diagnostics.CodeAnalysis;
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Teredo.Hosting.Sockets;

/// <summary>
/// Lets OpenSSL free a TLS session's record buffers while the session is idle (SSL_MODE_RELEASE_BUFFERS).
/// Without it every SSL object keeps its record buffers for its whole life: measured at 10,000 idle
/// sessions, about 15 KiB of the ~33 KiB of native memory each peer cost the coordinator. With it an idle
/// session holds only the SSL object and its keys, and the buffers are taken from and given back to
/// malloc around each record. .NET exposes neither the SSL handle nor the mode, so this finds the handle inside the
/// SslStream by reflection (the stream's security context is, or holds, a SafeSslHandle) and calls libssl's
/// SSL_ctrl(SSL_CTRL_MODE). Everything is checked once: when the runtime's internals differ (another .NET
/// version, another TLS library, trimming), <see cref="Available"/> is false, the reason is kept, and
/// sessions simply keep their buffers.
/// </summary>
public static unsafe class OpenSslBuffers
{
    private const int SslCtrlMode = 33;           // openssl/ssl.h: SSL_CTRL_MODE
    private const nint SslModeReleaseBuffers = 0x10; // openssl/ssl.h: SSL_MODE_RELEASE_BUFFERS

    private static readonly FieldInfo? s_context;
    private static readonly Lock s_lock = new();
    private static FieldInfo? s_handle;
    private static delegate* unmanaged<nint, int, nint, nint, nint> s_sslCtrl;

    /// <summary>Why the mode cannot be set (null while it can, or before the first session was tried).</summary>
    public static string? Unavailable { get; private set; }
    public static bool Available => Unavailable is null && s_sslCtrl != null;

    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Probed once at run time; when the field is gone the feature turns itself off.")]
    static OpenSslBuffers()
    {
        if (!OperatingSystem.IsLinux())
        {
            Unavailable = "not Linux (SslStream does not use OpenSSL here)";
            return;
        }
        s_context = typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);
        if (s_context is null) { Unavailable = "SslStream has no _securityContext field in this .NET version"; return; }
        // The SSL library .NET's shim loaded (libssl.so.3 on current distributions): dlopen hands back the same one.
        foreach (var name in (string[])["libssl.so.3", "libssl.so.1.1", "libssl.so"])
        {
            if (NativeLibrary.TryLoad(name, out var lib) && NativeLibrary.TryGetExport(lib, "SSL_ctrl", out var ctrl))
            {
                s_sslCtrl = (delegate* unmanaged<nint, int, nint, nint, nint>)ctrl;
                return;
            }
        }
        Unavailable = "libssl (SSL_ctrl) not found";
    }

    /// <summary>
    /// Sets SSL_MODE_RELEASE_BUFFERS on an authenticated stream's SSL object. Call it after the handshake
    /// and before any read or write of the session begins (SSL_ctrl is not safe against concurrent I/O on
    /// the same SSL). False when it could not be set; the session then works as before.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Probed once at run time; when the field is gone the feature turns itself off.")]
    public static bool Release(SslStream stream)
    {
        if (Unavailable is not null || s_sslCtrl == null) return false;
        var context = s_context!.GetValue(stream);
        if (context is null) return false;
        // .NET 10 keeps the SafeSslHandle itself there; older versions wrapped it in a SafeDeleteSslContext.
        if (IsSslHandle(context.GetType())) return SetMode((SafeHandle)context);
        var handleField = s_handle;
        if (handleField is null)
        {
            lock (s_lock)
            {
                for (var t = context.GetType(); t is not null && s_handle is null; t = t.BaseType)
                    foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
                        if (IsSslHandle(f.FieldType))
                        {
                            s_handle = f;
                            break;
                        }
                if (s_handle is null)
                {
                    Unavailable = $"no SafeSslHandle in {context.GetType().Name}";
                    return false;
                }
                handleField = s_handle;
            }
        }
        return handleField.GetValue(context) is SafeHandle ssl && SetMode(ssl);
    }

    private static bool IsSslHandle(Type type) => type.Name == "SafeSslHandle" && typeof(SafeHandle).IsAssignableFrom(type);

    private static bool SetMode(SafeHandle ssl)
    {
        if (ssl.IsInvalid || ssl.IsClosed) return false;
        bool added = false;
        try
        {
            ssl.DangerousAddRef(ref added);
            nint mode = s_sslCtrl(ssl.DangerousGetHandle(), SslCtrlMode, SslModeReleaseBuffers, 0);
            return (mode & SslModeReleaseBuffers) != 0;
        }
        finally
        {
            if (added) ssl.DangerousRelease();
        }
    }
}
