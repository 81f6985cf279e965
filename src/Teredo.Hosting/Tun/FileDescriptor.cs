using System.Runtime.InteropServices;

namespace Teredo.Hosting.Tun;

/// <summary>
/// A raw descriptor owned through SafeHandle reference counting: Dispose from one thread while another
/// is inside read or poll defers the close until that call returns, so the number cannot be reused
/// by an unrelated open() under the reader's feet.
/// </summary>
internal sealed class FileDescriptor : SafeHandle
{
    public FileDescriptor(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    public int Fd => (int)handle.ToInt64();

    protected override bool ReleaseHandle() => TunNative.close(Fd) == 0;
}
