using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Files;

/// <summary>
/// The few POSIX calls .NET does not expose: open without blocking on fifos, statx on a descriptor,
/// fdatasync/fsync, realpath, and a rename that refuses to replace an existing file.
/// Only Linux (glibc or musl) is supported; these calls are what makes the root jail and durability hold.
/// </summary>
internal static partial class NativeFile
{
    public const int ENOENT = 2;
    public const int EIO = 5;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int EMLINK = 31;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ELOOP = 40;
    public const int EPERM = 1;
    public const int EXDEV = 18;
    public const int EOPNOTSUPP = 95;
    public const int EDQUOT = 122;

    public const int EWOULDBLOCK = 11;

    // futimens: leave this time as it is.
    private const long UTIME_OMIT = (1L << 30) - 2;

    private const int O_RDONLY = 0;
    private const int O_RDWR = 2;
    private const int O_CREAT = 0x40;
    private const int F_GETFL = 3;
    private const int F_SETFL = 4;
    private const int LOCK_EX = 2;
    private const int LOCK_NB = 4;
    private const int O_NONBLOCK = 0x800;
    private const int O_CLOEXEC = 0x80000;
    private const int O_PATH = 0x200000;
    private const int AT_FDCWD = -100;
    private const int AT_EMPTY_PATH = 0x1000;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint RENAME_NOREPLACE = 1;
    private const uint STATX_BASIC_STATS = 0x7ff;

    // The file type bits of st_mode, under their POSIX names.
#pragma warning disable IDE1006
    private const ushort S_IFMT = 0xF000;
    public const ushort S_IFREG = 0x8000;
    public const ushort S_IFDIR = 0x4000;
    public const ushort S_IFLNK = 0xA000;
    public const ushort S_IFCHR = 0x2000;
    public const ushort S_IFBLK = 0x6000;
    public const ushort S_IFIFO = 0x1000;
    public const ushort S_IFSOCK = 0xC000;
#pragma warning restore IDE1006

    /// <summary>What <c>statx</c> reports about an open file.</summary>
    public readonly record struct FileStat(ushort Mode, long Size, long MtimeUnixMs)
    {
        public ushort Type => (ushort)(Mode & S_IFMT);

        public bool IsRegular => Type == S_IFREG;

        public bool IsDirectory => Type == S_IFDIR;

        /// <summary>The owner's user id.</summary>
        public uint OwnerUid { get; init; }
    }

    /// <summary>The effective user id of this process.</summary>
    public static uint EffectiveUserId => geteuid();

    /// <summary>
    /// Whether this process may create files in <paramref name="directory"/> (access(2) with W_OK | X_OK: it answers
    /// for this user, its groups, ACLs and read-only mounts, as the create itself would). Returns errno on failure.
    /// </summary>
    public static int CheckWritableDirectory(string directory) =>
        access(directory, 2 | 1) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>
    /// Opens for reading with O_NONBLOCK so that a fifo swapped in after validation cannot hang the server
    /// (regular files ignore the flag). Returns errno on failure.
    /// </summary>
    public static SafeFileHandle? OpenReadNonBlocking(string path, out int errno, bool followSymlinks = false)
    {
        // Server paths are canonical (no symlinks); O_NOFOLLOW makes a final component swapped for a link fail (ELOOP).
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followSymlinks ? 0 : NoFollowFlag), 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        errno = 0;
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// Opens (creating if missing, never truncating) a temp file for reading and writing, refusing to follow a
    /// symlink at the final component, then takes an exclusive advisory lock so two receivers (two client
    /// processes, or a crashed one's successor racing a straggler) never write the same temp file.
    /// Returns errno on failure: ELOOP for a symlink, EWOULDBLOCK when another process holds the lock.
    /// </summary>
    public static SafeFileHandle? OpenTempExclusive(string path, out int errno)
    {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | NoFollowFlag, 0x1B6 /* 0666 & umask, like any new file */);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            return null;
        }

        errno = 0;
        return handle;
    }

    // O_NOFOLLOW differs between architectures; where unknown, 0 (the post-open /proc check still applies).
    private static int NoFollowFlag => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x20000,
        Architecture.Arm64 or Architecture.Arm => 0x8000,
        _ => 0,
    };

    public static unsafe bool TryStat(SafeFileHandle handle, out FileStat stat, out int errno)
    {
        // struct statx has the same layout on every Linux architecture (unlike struct stat), 256 bytes.
        byte* buf = stackalloc byte[256];
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int rc = statx((int)handle.DangerousGetHandle(), "", AT_EMPTY_PATH, STATX_BASIC_STATS, buf);
            if (rc != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                stat = default;
                return false;
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        stat = Decode(buf);
        errno = 0;
        return true;
    }

    private static unsafe FileStat Decode(byte* buf)
    {
        // Offsets from linux/stat.h struct statx: stx_uid @20, stx_mode @28 (u16), stx_size @40, stx_mtime @112 (i64 sec, u32 nsec).
        uint uid = *(uint*)(buf + 20);
        ushort mode = *(ushort*)(buf + 28);
        long size = *(long*)(buf + 40);
        long mtimeSec = *(long*)(buf + 112);
        uint mtimeNsec = *(uint*)(buf + 120);
        return new FileStat(mode, size, (mtimeSec * 1000) + (mtimeNsec / 1_000_000)) { OwnerUid = uid };
    }

    /// <summary>
    /// Clears O_NONBLOCK once the descriptor is known to be a regular file, so the handle behaves like any
    /// synchronous .NET file handle (FileStream treats a non-blocking descriptor as asynchronous).
    /// </summary>
    public static void ClearNonBlocking(SafeFileHandle handle)
    {
        _ = WithFd(handle, static fd =>
        {
            int flags = fcntl(fd, F_GETFL, 0);
            return flags < 0 ? flags : fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        });
    }

    /// <summary>statx of a path without following a final symlink (lstat), or following it (stat).</summary>
    public static unsafe bool TryStatPath(string path, out FileStat stat, out int errno, bool followSymlinks = false)
    {
        byte* buf = stackalloc byte[256];
        if (statx(AT_FDCWD, path, followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            stat = default;
            return false;
        }

        errno = 0;
        stat = Decode(buf);
        return true;
    }

    /// <summary>fdatasync: the data (and the size) is on stable storage when this returns 0.</summary>
    public static int DataSync(SafeFileHandle handle) => WithFd(handle, static fd => fdatasync(fd));

    /// <summary>fsync: data and metadata.</summary>
    public static int FullSync(SafeFileHandle handle) => WithFd(handle, static fd => fsync(fd));

    /// <summary>
    /// Gives an open file or directory the permission bits <paramref name="mode"/> (masked to 0777: never setuid,
    /// setgid or sticky; null: unchanged) and the modification time <paramref name="mtimeUnixMs"/> (null: unchanged;
    /// the access time is left alone). Returns 0 or errno.
    /// </summary>
    public static unsafe int SetModeAndMtime(SafeFileHandle handle, int? mode, long? mtimeUnixMs)
    {
        if (mode is int m)
        {
            int rc = WithFd(handle, fd => fchmod(fd, m & 0x1FF));
            if (rc != 0)
            {
                return rc;
            }
        }

        if (mtimeUnixMs is not long ms)
        {
            return 0;
        }

        // struct timespec[2] { atime, mtime } of two longs each (64-bit Linux).
        long sec = Math.DivRem(ms, 1000, out long rem);
        if (rem < 0)
        {
            sec--;
            rem += 1000;
        }

        return WithFd(handle, fd =>
        {
            long* times = stackalloc long[4] { 0, UTIME_OMIT, sec, rem * 1_000_000 };
            return futimens(fd, times);
        });
    }

    /// <summary>The permission bits (0..0o777) of an open file, for an upload to give its copy; null when fstat fails.</summary>
    public static int? PermissionBits(SafeFileHandle handle) => TryStat(handle, out var stat, out _) ? stat.Mode & 0x1FF : null;

    /// <summary>fsyncs a directory so a rename or create inside it survives a crash. Best effort.</summary>
    public static void SyncDirectory(string directory)
    {
        int fd = open(directory, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
        {
            return;
        }

        try
        {
            _ = fsync(fd);
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>The canonical absolute path (no symlinks, no "." or ".."), or null with errno.</summary>
    public static string? RealPath(string path, out int errno)
    {
        // The kernel walks the path once for open(O_PATH) and names the result in /proc/self/fd: three system calls,
        // where realpath(3) makes one readlink per component, each walking the path again from the start (a tree
        // upload resolves several paths per file). The same errors: the walk follows every link and needs search
        // permission on every directory, as realpath does.
        int fd = open(path, O_PATH | O_CLOEXEC, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        string? real;
        try
        {
            real = ReadProcFdLink(fd);
        }
        finally
        {
            _ = close(fd);
        }

        if (real is not null)
        {
            errno = 0;
            return real;
        }

        return LibcRealPath(path, out errno);
    }

    /// <summary>realpath(3): what <see cref="RealPath"/> falls back to when /proc cannot name a descriptor.</summary>
    internal static string? LibcRealPath(string path, out int errno)
    {
        nint p = realpath(path, 0);
        if (p == 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        try
        {
            errno = 0;
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            free(p);
        }
    }

    /// <summary>
    /// The kernel's name for an open descriptor (readlink of /proc/self/fd/N), or null when it has no usable one:
    /// /proc is not mounted, the file was unlinked (" (deleted)"), or it lies outside this process's root.
    /// </summary>
    private static unsafe string? ReadProcFdLink(int fd)
    {
        const int max = 4096; // PATH_MAX
        byte* buf = stackalloc byte[max];
        nint n = readlink($"/proc/self/fd/{fd}", buf, max);
        if (n <= 0 || n >= max || buf[0] != (byte)'/')
        {
            return null;
        }

        string target = System.Text.Encoding.UTF8.GetString(buf, (int)n);
        return target.EndsWith(" (deleted)", StringComparison.Ordinal) ? null : target;
    }

    /// <summary>The path the kernel has for an open descriptor (readlink of /proc/self/fd/N).</summary>
    public static string? PathOfHandle(SafeFileHandle handle)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            return ReadProcFdLink(fd) ?? LibcRealPath($"/proc/self/fd/{fd}", out _);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Renames <paramref name="from"/> to <paramref name="to"/>, failing with EEXIST when the target exists.
    /// renameat2(RENAME_NOREPLACE) is atomic; where the filesystem or libc lacks it we fall back to
    /// link()+unlink() (also atomic for the "exists" check), and as a last resort to check-then-rename.
    /// Returns 0 or errno.
    /// </summary>
    public static int RenameNoReplace(string from, string to)
    {
        try
        {
            if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
            {
                return 0;
            }

            int err = Marshal.GetLastPInvokeError();
            if (err != EINVAL && err != ENOSYS && err != EOPNOTSUPP)
            {
                return err;
            }
        }
        catch (EntryPointNotFoundException)
        {
            // Old libc without renameat2: use the link fallback.
        }

        if (link(from, to) == 0)
        {
            _ = unlink(from);
            return 0;
        }

        int linkErr = Marshal.GetLastPInvokeError();
        if (linkErr != EPERM && linkErr != EOPNOTSUPP && linkErr != EMLINK)
        {
            return linkErr;
        }

        // Filesystems without hard links (vfat, some FUSE): not atomic, but the window is tiny and this
        // path is only taken where nothing better exists.
        if (Path.Exists(to) || IsSymlink(to))
        {
            return EEXIST;
        }

        return rename(from, to) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>rename(2), replacing the target. Returns 0 or errno.</summary>
    public static int RenameReplace(string from, string to) => rename(from, to) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static bool IsSymlink(string path) =>
        TryStatPath(path, out var stat, out _) && stat.Type == S_IFLNK;

    /// <summary>errno of an IOException raised by .NET on Unix (it stores the raw errno in HResult), or 0.</summary>
    public static int ErrnoOf(IOException ex) => ex.HResult is > 0 and < 4096 ? ex.HResult : 0;

    public static bool IsNoSpace(int errno) => errno is ENOSPC or EDQUOT;

    private static int WithFd(SafeFileHandle handle, Func<int, int> call)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return call((int)handle.DangerousGetHandle()) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int fchmod(int fd, int mode);

    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static unsafe partial int futimens(int fd, long* times);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int access(string path, int mode);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int dirfd, string path, int flags, uint mask, byte* buf);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint realpath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint readlink(string path, byte* buf, nint size);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void free(nint p);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rename(string oldpath, string newpath);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldpath, string newpath);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unlink(string path);
}
