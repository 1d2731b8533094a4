using System.Runtime.InteropServices;

namespace ModelGen.Gguf;

/// <summary>
/// Writes an output file so that no data is lost: through a temporary file in the target's folder, renamed over the
/// target only when complete, so a failure leaves the old file as it was. Targets that are not regular files
/// (directories, devices such as <c>/dev/full</c>, FIFOs, sockets) are refused, and a symbolic link is followed: the
/// file it points to is replaced and the link kept.
/// </summary>
public static partial class OutputFile
{
    /// <summary>
    /// The file <paramref name="path"/> writes to (symbolic links followed), after checking that it may be replaced:
    /// it is a regular file or does not exist yet, its folder exists, and it is none of <paramref name="inputs"/>
    /// (the same path, a link to one, or on Linux a hard link: the same device and inode).
    /// </summary>
    /// <param name="path">The output path as given.</param>
    /// <param name="what">How the message names the output, e.g. an option: <c>-o out.gguf</c>.</param>
    /// <param name="inputs">Files the command reads; none may be overwritten.</param>
    /// <exception cref="IOException">One line naming <paramref name="what"/> and why it cannot be written.</exception>
    public static string Check(string path, string what, params IEnumerable<string> inputs)
    {
        var target = FinalTarget(path);
        var folder = Path.GetDirectoryName(target) ?? target;
        if (!Directory.Exists(folder))
        {
            throw new IOException($"{what}: the folder {DisplayText.Escape(folder)} does not exist");
        }

        if (NotRegularFile(target) is { } kind)
        {
            throw new IOException($"{what}: {DisplayText.Escape(path)} is {kind}, not a regular file; give a file path");
        }

        foreach (var input in inputs)
        {
            if (SameFile(target, input))
            {
                throw new IOException($"{what}: {DisplayText.Escape(path)} is the input {DisplayText.Escape(input)}; write to another file");
            }
        }

        return target;
    }

    /// <summary>
    /// Writes <paramref name="path"/> by calling <paramref name="write"/> with a stream on a temporary file beside it,
    /// then renaming that over the target; if <paramref name="write"/> throws, the temporary file is removed and the
    /// target is untouched.
    /// </summary>
    public static void Write(string path, Action<Stream> write) => Write(path, temporary =>
    {
        using var stream = new FileStream(temporary, FileMode.Open, FileAccess.Write, FileShare.None, 1 << 20);
        write(stream);
    });

    /// <summary>
    /// Writes <paramref name="path"/> by calling <paramref name="write"/> with the path of an empty temporary file beside
    /// it (to fill by any means), then renaming that over the target; if <paramref name="write"/> throws, the temporary
    /// file is removed and the target is untouched.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        var target = FinalTarget(path);
        if (NotRegularFile(target) is { } kind)
        {
            throw new IOException($"{DisplayText.Escape(path)} is {kind}, not a regular file");
        }

        // A hidden name of its own, so that no file a user keeps beside the target (say out.gguf.tmp) is replaced.
        var temporary = Path.Combine(Path.GetDirectoryName(target) ?? ".", $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        new FileStream(temporary, FileMode.CreateNew, FileAccess.Write).Dispose();
        try
        {
            write(temporary);
            if (!OperatingSystem.IsWindows() && File.Exists(target))
            {
                File.SetUnixFileMode(temporary, File.GetUnixFileMode(target));
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>The file at the end of <paramref name="path"/>'s chain of symbolic links, as a full path.</summary>
    private static string FinalTarget(string path)
    {
        var full = Path.GetFullPath(path);
        return new FileInfo(full).LinkTarget is null ? full : File.ResolveLinkTarget(full, returnFinalTarget: true)!.FullName;
    }

    /// <summary>What <paramref name="path"/> is if it exists and is not a regular file ("a directory", "a FIFO"...).</summary>
    private static string? NotRegularFile(string path)
    {
        if (Directory.Exists(path))
        {
            return "a directory";
        }

        if (Stat(path) is { } status)
        {
            return (status.Mode & FileTypeMask) switch
            {
                RegularFile => null,
                0x1000 => "a FIFO",
                0x2000 => "a character device",
                0x6000 => "a block device",
                0xC000 => "a socket",
                _ => "not a file",
            };
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="first"/> and <paramref name="second"/> are one file: the same full path after following
    /// symbolic links, or on Linux the same device and inode (hard links).
    /// </summary>
    public static bool IsSameFile(string first, string second) => SameFile(FinalTarget(first), second);

    /// <summary>Whether <paramref name="target"/> (a final target) and <paramref name="input"/> are one file.</summary>
    private static bool SameFile(string target, string input)
    {
        if (string.Equals(target, FinalTarget(input), OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return Stat(target) is { } a && Stat(input) is { } b && a.Device == b.Device && a.Inode == b.Inode;
    }

    private const int FileTypeMask = 0xF000;
    private const int RegularFile = 0x8000;

    private readonly record struct FileStatus(int Mode, ulong Device, ulong Inode);

    /// <summary>
    /// Type, device and inode of an existing file (links followed), from Linux's <c>statx</c>, whose structure is the
    /// same on every architecture; null elsewhere, for a missing file, or where the call is unavailable.
    /// </summary>
    private static unsafe FileStatus? Stat(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        const int CurrentDirectory = -100, TypeInodeFields = 0x1 | 0x100;
        byte* buffer = stackalloc byte[256];
        try
        {
            if (NativeMethods.statx(CurrentDirectory, path, 0, TypeInodeFields, buffer) != 0)
            {
                return null;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }

        // struct statx: stx_mode (u16) at 28, stx_ino (u64) at 32, stx_dev_major and stx_dev_minor (u32) at 136 and 140.
        int mode = *(ushort*)(buffer + 28);
        ulong inode = *(ulong*)(buffer + 32);
        ulong device = ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140);
        return new FileStatus(mode, device, inode);
    }

    private static unsafe partial class NativeMethods
    {
        [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int statx(int directory, string path, int flags, uint mask, byte* buffer);
    }
}
