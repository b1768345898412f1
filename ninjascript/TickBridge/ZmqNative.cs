// ZeroMQ through the native libzmq (P/Invoke), not a managed port.
//
// Why native: NinjaTrader compiles NinjaScript from source into NinjaTrader.Custom.dll;
// a managed ZeroMQ (NetMQ) would have to be shipped as extra assemblies and referenced
// through NinjaScript's references dialog, and its version kept compatible with the
// .NET Framework 4.8 NinjaTrader runs on. libzmq is one C DLL with a stable ABI
// (4.x), the same library the engine (pyzmq) uses.
//
// Where the library comes from:
//  - Windows / NinjaTrader: libzmq.dll (x64, libzmq 4.3.x) in Documents\NinjaTrader 8\tickbridge\
//    (NinjaTrader.Core.Globals.UserDataDir + "tickbridge"; the strategy's "libzmq folder"
//    setting). Load() loads it by full path with LoadLibraryEx(LOAD_WITH_ALTERED_SEARCH_PATH)
//    before the first call, so the DLLs it needs (libsodium.dll for builds that use it) are
//    looked for in that folder too; DllImport("libzmq") then binds to the module already
//    loaded. The Microsoft Visual C++ 2015-2022 x64 runtime must be installed.
//  - Linux / Mono (the tests): Debian's libzmq5 ships libzmq.so.5; the name "libzmq"
//    makes Mono look for libzmq.so, which exists only with libzmq3-dev, so the test
//    assemblies carry a dllmap (<dllmap dll="libzmq" target="libzmq.so.5"/>) in their
//    .config file. One DllImport name works on both.
using System;
using System.ComponentModel;
using System.IO;
using System.Runtime.InteropServices;

namespace NinjaTrader.NinjaScript.AddOns.TickBridge
{
    public static class ZmqNative
    {
        private const string Lib = "libzmq";

        public const int DEALER = 5;
        public const int ROUTER = 6;
        public const int SNDMORE = 2;
        public const int DONTWAIT = 1;
        public const int RCVMORE = 13;
        public const int LINGER = 17;
        public const int RECONNECT_IVL = 18;
        public const int SNDHWM = 23;
        public const int RCVHWM = 24;
        public const int IMMEDIATE = 39;
        public const int CURVE_PUBLICKEY = 48;
        public const int CURVE_SECRETKEY = 49;
        public const int CURVE_SERVERKEY = 50;
        public const short POLLIN = 1;
        public const int EAGAIN = 11;
        public const int EINTR = 4;

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_ctx_new();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_ctx_term(IntPtr context);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_socket(IntPtr context, int type);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_close(IntPtr socket);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int zmq_setsockopt(IntPtr socket, int option, ref int value, UIntPtr length);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int zmq_setsockopt(IntPtr socket, int option, byte[] value, UIntPtr length);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int zmq_getsockopt(IntPtr socket, int option, ref int value, ref UIntPtr length);
        // libzmq >= 4.2.1: the z85 public key of a z85 secret key (41-byte buffers, NUL-ended).
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int zmq_curve_public(byte[] z85PublicKey, byte[] z85SecretKey);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, CharSet = CharSet.Ansi)]
        public static extern int zmq_bind(IntPtr socket, [MarshalAs(UnmanagedType.LPStr)] string endpoint);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, CharSet = CharSet.Ansi)]
        public static extern int zmq_connect(IntPtr socket, [MarshalAs(UnmanagedType.LPStr)] string endpoint);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int zmq_send(IntPtr socket, byte[] buffer, UIntPtr length, int flags);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int zmq_recv(IntPtr socket, byte[] buffer, UIntPtr length, int flags);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_errno();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern void zmq_version(out int major, out int minor, out int patch);

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibraryExW(string path, IntPtr file, uint flags);
        private const uint LOAD_WITH_ALTERED_SEARCH_PATH = 0x8;

        private static readonly object loadLock = new object();
        private static string loadedVersion;

        /// <summary>The libzmq version once Load succeeded, else null.</summary>
        public static string LoadedVersion { get { return loadedVersion; } }

        /// <summary>Loads libzmq before its first call: on Windows by full path from
        /// <paramref name="folder"/>. Returns null when it is ready, else what is wrong, naming
        /// the file and what it needs.</summary>
        public static string Load(string folder)
        {
            lock (loadLock)
            {
                if (loadedVersion != null) return null;
                string path = null;
                if (IsWindows)
                {
                    path = Path.Combine(folder ?? "", "libzmq.dll");
                    if (!File.Exists(path))
                        return "libzmq.dll not found at " + path + " (a 64-bit libzmq 4.3.x DLL goes there; see the README)";
                    if (LoadLibraryExW(path, IntPtr.Zero, LOAD_WITH_ALTERED_SEARCH_PATH) == IntPtr.Zero)
                    {
                        int code = Marshal.GetLastWin32Error();
                        return path + " could not be loaded (Windows error " + code + ": " + new Win32Exception(code).Message
                            + "). It must be a 64-bit build, and the DLLs it needs must be present: the Microsoft Visual C++"
                            + " 2015-2022 Redistributable (x64), and libsodium.dll beside it for builds that use libsodium";
                    }
                }
                else if (!string.IsNullOrEmpty(folder))
                {
                    // Mono (the tests): the assembly's dllmap names the library; a folder given must hold it.
                    path = Path.Combine(folder, "libzmq.so.5");
                    if (!File.Exists(path)) return "libzmq.so.5 not found at " + path;
                }
                int major, minor, patch;
                try
                {
                    zmq_version(out major, out minor, out patch);
                }
                catch (DllNotFoundException e)
                {
                    return "libzmq not loaded (" + e.Message + ")";
                }
                catch (EntryPointNotFoundException e)
                {
                    return "the libzmq found is not ZeroMQ 4 (" + e.Message + ")";
                }
                catch (BadImageFormatException)
                {
                    return "the libzmq found is not a 64-bit build";
                }
                if (major < 4 || (major == 4 && minor < 2))
                    return "libzmq " + major + "." + minor + "." + patch + " is too old: 4.2 or later (4.3.x) is needed";
                loadedVersion = major + "." + minor + "." + patch;
                return null;
            }
        }
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_strerror(int errnum);

        // zmq_pollitem_t differs by OS: `fd` is an int on POSIX and a SOCKET (pointer-sized) on
        // Windows, and the timeout is a C `long` (64-bit on Linux x64, 32-bit on Windows x64).
        [StructLayout(LayoutKind.Sequential)]
        public struct PollItemPosix { public IntPtr Socket; public int Fd; public short Events; public short Revents; }
        [StructLayout(LayoutKind.Sequential)]
        public struct PollItemWindows { public IntPtr Socket; public IntPtr Fd; public short Events; public short Revents; }
        [DllImport(Lib, EntryPoint = "zmq_poll", CallingConvention = CallingConvention.Cdecl)]
        public static extern int zmq_poll_posix([In, Out] PollItemPosix[] items, int count, long timeoutMs);
        [DllImport(Lib, EntryPoint = "zmq_poll", CallingConvention = CallingConvention.Cdecl)]
        public static extern int zmq_poll_windows([In, Out] PollItemWindows[] items, int count, int timeoutMs);

        public static readonly bool IsWindows = Environment.OSVersion.Platform == PlatformID.Win32NT;

        public static string LastError()
        {
            int errno = zmq_errno();
            IntPtr text = zmq_strerror(errno);
            return Marshal.PtrToStringAnsi(text) + " (errno " + errno + ")";
        }

        public static void SetInt(IntPtr socket, int option, int value)
        {
            zmq_setsockopt(socket, option, ref value, (UIntPtr)4);
        }

        /// <summary>Sets a z85 CURVE key (40 characters; passed NUL-ended, 41 bytes, as
        /// libzmq takes the text form).</summary>
        public static bool SetZ85(IntPtr socket, int option, string z85)
        {
            var bytes = new byte[41];
            System.Text.Encoding.ASCII.GetBytes(z85, 0, 40, bytes, 0);
            return zmq_setsockopt(socket, option, bytes, (UIntPtr)41) == 0;
        }

        public static bool HasMore(IntPtr socket)
        {
            int more = 0;
            UIntPtr size = (UIntPtr)4;
            zmq_getsockopt(socket, RCVMORE, ref more, ref size);
            return more != 0;
        }
    }

    /// <summary>The keys of a ZeroMQ CURVE client (docs/security.md): the engine's public
    /// key (z85 text, or the path of its NAME.key file) and this shim's key (its z85 secret
    /// key, or the path of its NAME.key_secret file from `tickbridge keys create`).</summary>
    public sealed class CurveKeys
    {
        public string ServerPublic;
        public string ClientPublic;
        public string ClientSecret;

        private const string Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

        public static bool IsZ85Key(string text)
        {
            if (text == null || text.Length != 40) return false;
            foreach (char c in text) if (Z85.IndexOf(c) < 0) return false;
            return true;
        }

        /// <summary>Null and `error` set when either key cannot be read.</summary>
        public static CurveKeys Resolve(string server, string client, out string error)
        {
            error = null;
            if (string.IsNullOrEmpty(server) || string.IsNullOrEmpty(client))
            {
                error = "CURVE needs both the engine's public key and this shim's key";
                return null;
            }
            var keys = new CurveKeys();
            keys.ServerPublic = IsZ85Key(server) ? server : CertificateValue(server, "public-key");
            if (!IsZ85Key(keys.ServerPublic))
            {
                error = "engine public key '" + server + "': neither a z85 key (40 characters) nor a readable NAME.key file";
                return null;
            }
            if (IsZ85Key(client))
            {
                keys.ClientSecret = client;
                var secret = new byte[41];
                var derived = new byte[41];
                System.Text.Encoding.ASCII.GetBytes(client, 0, 40, secret, 0);
                if (ZmqNative.zmq_curve_public(derived, secret) != 0)
                {
                    error = "shim secret key: not a CURVE secret key";
                    return null;
                }
                keys.ClientPublic = System.Text.Encoding.ASCII.GetString(derived, 0, 40);
            }
            else
            {
                keys.ClientPublic = CertificateValue(client, "public-key");
                keys.ClientSecret = CertificateValue(client, "secret-key");
            }
            if (!IsZ85Key(keys.ClientPublic) || !IsZ85Key(keys.ClientSecret))
            {
                error = "shim key '" + client + "': neither a z85 secret key nor a readable NAME.key_secret file (with a secret-key line)";
                return null;
            }
            return keys;
        }

        // `name = "value"` from a zmq.auth certificate file; null when unreadable or absent.
        private static string CertificateValue(string path, string name)
        {
            string[] lines;
            try { lines = System.IO.File.ReadAllLines(path); }
            catch (Exception) { return null; }
            foreach (var line in lines)
            {
                int at = line.IndexOf(name, StringComparison.Ordinal);
                if (at < 0) continue;
                int open = line.IndexOf('"', at + name.Length);
                int close = open < 0 ? -1 : line.IndexOf('"', open + 1);
                if (close > open) return line.Substring(open + 1, close - open - 1);
            }
            return null;
        }
    }

    /// <summary>Polls up to two sockets for input, hiding the per-OS pollitem layout.</summary>
    public sealed class ZmqPoller
    {
        private readonly ZmqNative.PollItemPosix[] posix;
        private readonly ZmqNative.PollItemWindows[] windows;

        public ZmqPoller(IntPtr[] sockets)
        {
            if (ZmqNative.IsWindows)
            {
                windows = new ZmqNative.PollItemWindows[sockets.Length];
                for (int i = 0; i < sockets.Length; i++) { windows[i].Socket = sockets[i]; windows[i].Events = ZmqNative.POLLIN; }
            }
            else
            {
                posix = new ZmqNative.PollItemPosix[sockets.Length];
                for (int i = 0; i < sockets.Length; i++) { posix[i].Socket = sockets[i]; posix[i].Events = ZmqNative.POLLIN; }
            }
        }

        public int Poll(int timeoutMs)
        {
            return ZmqNative.IsWindows
                ? ZmqNative.zmq_poll_windows(windows, windows.Length, timeoutMs)
                : ZmqNative.zmq_poll_posix(posix, posix.Length, timeoutMs);
        }

        public bool Readable(int index)
        {
            short revents = ZmqNative.IsWindows ? windows[index].Revents : posix[index].Revents;
            return (revents & ZmqNative.POLLIN) != 0;
        }
    }
}
