// The queue between NinjaTrader's threads and the bridge thread.
//
// Why multi-producer: NinjaTrader calls OnMarketData/OnMarketDepth on the instrument's
// data thread and OnOrderUpdate/OnExecutionUpdate/OnPositionUpdate on the account's
// (adapter) thread, and commands executed through TriggerCustomEvent add acks from yet
// another. A single-producer queue would need one queue per producer thread (and a
// thread-static registry); a bounded lock-free MPSC ring (Vyukov's bounded queue, one
// consumer) is simpler and keeps one global order of events. Producers claim a slot with
// one CompareExchange and never wait: when the ring is full they get `false` and the
// caller counts the drop (market data) or spills (order events, see Bridge).
//
// Each slot holds one encoded record (at most Wire.MaxRecordLength bytes), so the
// producer encodes straight into the ring: no allocation per event.
using System.Threading;
using NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol;

namespace NinjaTrader.NinjaScript.AddOns.TickBridge
{
    public sealed class EventQueue
    {
        public const int SlotSize = Wire.MaxRecordLength;

        private readonly byte[] slots;
        private readonly long[] sequences;   // Vyukov: slot i is free for position p when sequences[i] == p
        private readonly int mask;
        private long enqueuePosition;        // shared by producers
        private long dequeuePosition;        // consumer only

        public EventQueue(int capacityPowerOfTwo)
        {
            int capacity = 1;
            while (capacity < capacityPowerOfTwo) capacity <<= 1;
            mask = capacity - 1;
            slots = new byte[capacity * SlotSize];
            sequences = new long[capacity];
            for (int i = 0; i < capacity; i++) sequences[i] = i;
        }

        public int Capacity { get { return mask + 1; } }

        /// <summary>Encodes the record into a free slot. Never blocks; false when the ring is
        /// full. Throws ArgumentException (text too long) without consuming a slot.</summary>
        public bool TryEnqueue<T>(ref T record) where T : struct, IRecord
        {
            long position = Volatile.Read(ref enqueuePosition);
            while (true)
            {
                int index = (int)(position & mask);
                long sequence = Volatile.Read(ref sequences[index]);
                long difference = sequence - position;
                if (difference == 0)
                {
                    long seen = Interlocked.CompareExchange(ref enqueuePosition, position + 1, position);
                    if (seen == position)
                    {
                        try
                        {
                            record.WriteTo(slots, index * SlotSize);
                        }
                        catch
                        {
                            // The slot is claimed: publish it as an empty marker so the consumer
                            // skips it (type 0), then let the caller see the encoding error.
                            Wire.PutU16(slots, index * SlotSize, 0);
                            Volatile.Write(ref sequences[index], position + 1);
                            throw;
                        }
                        Volatile.Write(ref sequences[index], position + 1);
                        return true;
                    }
                    position = seen;
                }
                else if (difference < 0)
                {
                    return false; // full
                }
                else
                {
                    position = Volatile.Read(ref enqueuePosition);
                }
            }
        }

        /// <summary>Consumer side: the next published record's slot offset in Slots, or -1.
        /// Call Release after copying it out.</summary>
        public int PeekOffset()
        {
            int index = (int)(dequeuePosition & mask);
            long sequence = Volatile.Read(ref sequences[index]);
            if (sequence != dequeuePosition + 1) return -1;
            return index * SlotSize;
        }

        public void Release()
        {
            int index = (int)(dequeuePosition & mask);
            Volatile.Write(ref sequences[index], dequeuePosition + mask + 1);
            dequeuePosition++;
        }

        public byte[] Slots { get { return slots; } }
    }
}
