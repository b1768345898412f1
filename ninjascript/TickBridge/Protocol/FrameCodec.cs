// Frame encoder and decoder, mirroring protocol.hpp. A frame is validated whole before
// anything in it is used: a malformed frame is refused whole, never half-applied.
using System;

namespace NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol
{
    public struct FrameHeader
    {
        public ushort Version;
        public ulong SessionId;
        public ulong Sequence;
        public long SendTimeNs;
        public uint RecordCount;
        public uint Flags;
    }

    public static class FrameDecoder
    {
        /// <summary>Checks the whole frame in b[0..size) and returns its header; throws
        /// ProtocolException with the code and byte offset of the first fault (the same
        /// codes, offsets and messages as the C++ and Python decoders).</summary>
        public static FrameHeader Validate(byte[] b, int size)
        {
            if (size < Wire.FrameHeaderSize)
                throw new ProtocolException(DecodeError.Truncated, size,
                    "frame of " + size + " bytes is shorter than the " + Wire.FrameHeaderSize + "-byte frame header");
            if (size > Wire.MaxFrameBytes)
                throw new ProtocolException(DecodeError.TooLarge, 0,
                    "frame of " + size + " bytes exceeds the limit of " + Wire.MaxFrameBytes);
            if (Wire.U32(b, 0) != Wire.Magic)
                throw new ProtocolException(DecodeError.BadMagic, 0, "bad magic: not a tickbridge frame");
            var h = new FrameHeader();
            h.Version = Wire.U16(b, 4);
            if (h.Version != Wire.Version)
                throw new ProtocolException(DecodeError.UnsupportedVersion, 4,
                    "protocol version " + h.Version + " is not supported (this side speaks " + Wire.Version + ")");
            ushort headerSize = Wire.U16(b, 6);
            if (headerSize != Wire.FrameHeaderSize)
                throw new ProtocolException(DecodeError.BadHeaderSize, 6,
                    "header_size " + headerSize + " (expected " + Wire.FrameHeaderSize + ")");
            h.SessionId = Wire.U64(b, 8);
            h.Sequence = Wire.U64(b, 16);
            h.SendTimeNs = Wire.I64(b, 24);
            h.RecordCount = Wire.U32(b, 32);
            h.Flags = Wire.U32(b, 36);

            int offset = Wire.FrameHeaderSize;
            for (uint index = 0; index < h.RecordCount; index++)
            {
                string which = "record " + index + ": ";
                if (offset == size)
                    throw new ProtocolException(DecodeError.CountMismatch, offset,
                        "frame ends after " + index + " records, header says " + h.RecordCount);
                if (size - offset < Wire.RecordHeaderSize)
                    throw new ProtocolException(DecodeError.RecordHeaderPastEnd, offset,
                        which + "record header needs 8 bytes, " + (size - offset) + " left");
                ushort type = Wire.U16(b, offset);
                ushort length = Wire.U16(b, offset + 2);
                int expected = Wire.LengthOf(type);
                if (expected == 0)
                    throw new ProtocolException(DecodeError.UnknownRecordType, offset, which + "unknown record type " + type);
                if (length > size - offset)
                    throw new ProtocolException(DecodeError.RecordPastEnd, offset,
                        which + "record length " + length + " runs past the frame end (" + (size - offset) + " bytes left)");
                if (length != expected)
                    throw new ProtocolException(DecodeError.BadRecordLength, offset,
                        which + Wire.NameOf(type) + " length " + length + " (expected " + expected + ")");
                offset += length;
            }
            if (offset != size)
                throw new ProtocolException(DecodeError.TrailingBytes, offset,
                    (size - offset) + " bytes after the last of " + h.RecordCount + " records");
            return h;
        }
    }

    /// <summary>Builds one frame in a reusable buffer: Begin, Append records, Finish.
    /// Not thread-safe: owned by the sending thread.</summary>
    public sealed class FrameWriter
    {
        private byte[] buffer;
        private int size;
        private uint count;

        public FrameWriter(int initialCapacity)
        {
            buffer = new byte[Math.Max(initialCapacity, Wire.FrameHeaderSize + Wire.MaxRecordLength)];
        }

        public byte[] Buffer { get { return buffer; } }
        public int Size { get { return size; } }
        public uint RecordCount { get { return count; } }

        public void Begin()
        {
            size = Wire.FrameHeaderSize;
            count = 0;
        }

        public void Append<T>(ref T record) where T : struct, IRecord
        {
            int length = record.RecordLength;
            Reserve(length);
            record.WriteTo(buffer, size);
            size += length;
            count++;
        }

        /// <summary>Appends an already-encoded record (its length is in its header).</summary>
        public void AppendRaw(byte[] source, int offset)
        {
            int length = Wire.U16(source, offset + 2);
            Reserve(length);
            System.Buffer.BlockCopy(source, offset, buffer, size, length);
            size += length;
            count++;
        }

        /// <summary>Writes the frame header; the frame is buffer[0..Size).</summary>
        public void Finish(ulong sessionId, ulong sequence, long sendTimeNs)
        {
            Wire.PutU32(buffer, 0, Wire.Magic);
            Wire.PutU16(buffer, 4, Wire.Version);
            Wire.PutU16(buffer, 6, Wire.FrameHeaderSize);
            Wire.PutU64(buffer, 8, sessionId);
            Wire.PutU64(buffer, 16, sequence);
            Wire.PutI64(buffer, 24, sendTimeNs);
            Wire.PutU32(buffer, 32, count);
            Wire.PutU32(buffer, 36, 0);
        }

        public byte[] ToArray()
        {
            var copy = new byte[size];
            System.Buffer.BlockCopy(buffer, 0, copy, 0, size);
            return copy;
        }

        private void Reserve(int more)
        {
            if (size + more > Wire.MaxFrameBytes)
                throw new InvalidOperationException("frame would exceed " + Wire.MaxFrameBytes + " bytes");
            if (size + more <= buffer.Length) return;
            int grown = Math.Min(Wire.MaxFrameBytes, Math.Max(buffer.Length * 2, size + more));
            Array.Resize(ref buffer, grown);
        }
    }
}
