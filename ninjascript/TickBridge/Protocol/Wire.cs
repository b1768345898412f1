// tickbridge wire protocol v1, C# side: constants, enumerations, errors and the
// little-endian primitives. Mirrors cpp/include/tickbridge/protocol.hpp (the source of
// truth) and docs/protocol.md byte for byte; tests/vectors round-trips through it.
//
// Written to the C# subset that both NinjaTrader 8's compiler and Mono's mcs accept.
using System;
using System.Text;

namespace NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol
{
    public static class Wire
    {
        public const uint Magic = 0x47524254;      // the bytes "TBRG"
        public const ushort Version = 1;
        public const int FrameHeaderSize = 40;
        public const int RecordHeaderSize = 8;
        public const int MaxFrameBytes = 4 << 20;  // a larger frame is refused before decoding
        public const int MaxRecordLength = 144;    // OrderUpdate, the longest record

        // ---- little-endian primitives (explicit, so the codec does not depend on the host's byte order)
        public static void PutU8(byte[] b, int o, byte v) { b[o] = v; }
        public static void PutU16(byte[] b, int o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
        public static void PutU32(byte[] b, int o, uint v)
        {
            b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); b[o + 2] = (byte)(v >> 16); b[o + 3] = (byte)(v >> 24);
        }
        public static void PutU64(byte[] b, int o, ulong v)
        {
            PutU32(b, o, (uint)v); PutU32(b, o + 4, (uint)(v >> 32));
        }
        public static void PutI64(byte[] b, int o, long v) { PutU64(b, o, (ulong)v); }
        public static void PutF64(byte[] b, int o, double v) { PutI64(b, o, BitConverter.DoubleToInt64Bits(v)); }

        public static ushort U16(byte[] b, int o) { return (ushort)(b[o] | (b[o + 1] << 8)); }
        public static uint U32(byte[] b, int o)
        {
            return (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));
        }
        public static ulong U64(byte[] b, int o) { return U32(b, o) | ((ulong)U32(b, o + 4) << 32); }
        public static long I64(byte[] b, int o) { return (long)U64(b, o); }
        public static double F64(byte[] b, int o) { return BitConverter.Int64BitsToDouble(I64(b, o)); }

        // Text is fixed-size, NUL-padded UTF-8. A text that does not fit is an error, never
        // truncated: a cut execution id could match the wrong fill.
        public static void PutText(byte[] b, int o, int size, string value, string field)
        {
            int n = 0;
            if (!string.IsNullOrEmpty(value))
            {
                n = Encoding.UTF8.GetByteCount(value);
                if (n > size)
                    throw new ArgumentException(field + ": " + n + " bytes do not fit in " + size + " (text is never truncated)");
                Encoding.UTF8.GetBytes(value, 0, value.Length, b, o);
            }
            for (int i = o + n; i < o + size; i++) b[i] = 0;
        }
        public static string Text(byte[] b, int o, int size)
        {
            int n = 0;
            while (n < size && b[o + n] != 0) n++;
            return n == 0 ? string.Empty : Encoding.UTF8.GetString(b, o, n);
        }
        public static void Zero(byte[] b, int o, int size) { Array.Clear(b, o, size); }

        public static void PutRecordHeader(byte[] b, int o, ushort type, ushort length, uint instrumentId)
        {
            PutU16(b, o, type); PutU16(b, o + 2, length); PutU32(b, o + 4, instrumentId);
        }

        // Nanoseconds since the Unix epoch, UTC.
        public static long UtcNowNs() { return (DateTime.UtcNow.Ticks - UnixEpochTicks) * 100; }
        public static long ToUnixNs(DateTime utc) { return (utc.Ticks - UnixEpochTicks) * 100; }
        public const long UnixEpochTicks = 621355968000000000L;

        /// <summary>The fixed length of a record type, or 0 for a type this version does not know.</summary>
        public static int LengthOf(ushort type)
        {
            switch (type)
            {
                case RecordType.Heartbeat: return 24;
                case RecordType.Hello: return 72;
                case RecordType.InstrumentDefinition: return 72;
                case RecordType.Trade: return 32;
                case RecordType.Quote: return 40;
                case RecordType.Depth: return 32;
                case RecordType.OrderUpdate: return 144;
                case RecordType.Fill: return 128;
                case RecordType.Position: return 40;
                case RecordType.Account: return 48;
                case RecordType.CommandAck: return 32;
                case RecordType.CommandReject: return 96;
                case RecordType.SnapshotBoundary: return 24;
                case RecordType.PlatformStatus: return 72;
                case RecordType.Submit: return 56;
                case RecordType.Cancel: return 24;
                case RecordType.Replace: return 48;
                case RecordType.CancelAll: return 16;
                case RecordType.Flatten: return 16;
                case RecordType.SnapshotRequest: return 32;
                case RecordType.Kill: return 56;
                case RecordType.TradingState: return 72;
                default: return 0;
            }
        }

        public static string NameOf(ushort type)
        {
            switch (type)
            {
                case RecordType.Heartbeat: return "Heartbeat";
                case RecordType.Hello: return "Hello";
                case RecordType.InstrumentDefinition: return "InstrumentDefinition";
                case RecordType.Trade: return "Trade";
                case RecordType.Quote: return "Quote";
                case RecordType.Depth: return "Depth";
                case RecordType.OrderUpdate: return "OrderUpdate";
                case RecordType.Fill: return "Fill";
                case RecordType.Position: return "Position";
                case RecordType.Account: return "Account";
                case RecordType.CommandAck: return "CommandAck";
                case RecordType.CommandReject: return "CommandReject";
                case RecordType.SnapshotBoundary: return "SnapshotBoundary";
                case RecordType.PlatformStatus: return "PlatformStatus";
                case RecordType.Submit: return "Submit";
                case RecordType.Cancel: return "Cancel";
                case RecordType.Replace: return "Replace";
                case RecordType.CancelAll: return "CancelAll";
                case RecordType.Flatten: return "Flatten";
                case RecordType.SnapshotRequest: return "SnapshotRequest";
                case RecordType.Kill: return "Kill";
                case RecordType.TradingState: return "TradingState";
                default: return "type " + type;
            }
        }

        /// <summary>Records the shim keeps until the engine acknowledges them (order state,
        /// fills, positions, account, acks and rejects, snapshot boundaries, the platform's
        /// connection status); market data is not kept.</summary>
        public static bool MustBeDelivered(ushort type)
        {
            return type >= RecordType.OrderUpdate && type <= RecordType.PlatformStatus;
        }
    }

    // Record type codes (u16). Constants rather than an enum so that they can be switch labels
    // on the raw u16 without casts.
    public static class RecordType
    {
        public const ushort Heartbeat = 0x0001;
        public const ushort Hello = 0x0101;
        public const ushort InstrumentDefinition = 0x0102;
        public const ushort Trade = 0x0103;
        public const ushort Quote = 0x0104;
        public const ushort Depth = 0x0105;
        public const ushort OrderUpdate = 0x0106;
        public const ushort Fill = 0x0107;
        public const ushort Position = 0x0108;
        public const ushort Account = 0x0109;
        public const ushort CommandAck = 0x010A;
        public const ushort CommandReject = 0x010B;
        public const ushort SnapshotBoundary = 0x010C;
        public const ushort PlatformStatus = 0x010D;
        public const ushort Submit = 0x0201;
        public const ushort Cancel = 0x0202;
        public const ushort Replace = 0x0203;
        public const ushort CancelAll = 0x0204;
        public const ushort Flatten = 0x0205;
        public const ushort SnapshotRequest = 0x0206;
        public const ushort Kill = 0x0207;
        public const ushort TradingState = 0x0208;
    }

    public enum WirePlatform : byte { SierraChart = 1, NinjaTrader = 2, Simulator = 3 }
    public enum WireSide : byte { Buy = 1, Sell = 2 }
    public enum WireAggressor : byte { Unknown = 0, Buy = 1, Sell = 2 }
    public enum WireOrderType : byte { Market = 1, Limit = 2, Stop = 3, StopLimit = 4 }
    public enum WireTimeInForce : byte { Day = 1, Gtc = 2, Ioc = 3, Fok = 4 }
    public enum WireOrderStatus : byte
    {
        NewRequested = 1, Submitted = 2, Acknowledged = 3, Working = 4, PartiallyFilled = 5, Filled = 6,
        PendingCancel = 7, PendingReplace = 8, Canceled = 9, Rejected = 10, Expired = 11,
    }
    /// <summary>PlatformStatus.orders / .prices: the platform's own connection.</summary>
    public enum WireConnectionState : byte { Unknown = 0, Connected = 1, Connecting = 2, ConnectionLost = 3, Disconnected = 4 }
    /// <summary>TradingState.state: the engine's trading state for this account (shown, never acted on).</summary>
    public enum WireTradingState : byte { Active = 0, ReducingOnly = 1, Halted = 2 }
    public enum WireDepthAction : byte { Upsert = 1, Delete = 2, ClearSide = 3 }
    public enum RejectReason : ushort
    {
        None = 0, UnknownOrder = 1, TooLateToCancel = 2, OffTickPrice = 3, SessionClosed = 4, PlatformBusy = 5,
        InvalidQuantity = 6, DuplicateClientOrderId = 7, NotConnected = 8, PlatformRejected = 9, BadSecret = 10,
        UnknownInstrument = 11, RiskRefused = 12, Malformed = 13,
    }
    [Flags]
    public enum SnapshotPart : uint { Orders = 1, Positions = 2, Fills = 4, Account = 8 }

    public enum DecodeError
    {
        Truncated = 1, TooLarge = 2, BadMagic = 3, UnsupportedVersion = 4, BadHeaderSize = 5,
        RecordHeaderPastEnd = 6, RecordPastEnd = 7, UnknownRecordType = 8, BadRecordLength = 9,
        CountMismatch = 10, TrailingBytes = 11,
    }

    /// <summary>A malformed frame: the code and byte offset of docs/protocol.md's error table,
    /// with the same message text as the C++ and Python decoders.</summary>
    public sealed class ProtocolException : Exception
    {
        public readonly DecodeError Code;
        public readonly int Offset;
        public ProtocolException(DecodeError code, int offset, string message)
            : base("byte " + offset + ": " + message)
        {
            Code = code;
            Offset = offset;
        }
    }
}
