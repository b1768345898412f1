// The closing orders NinjaTrader places for Account.Flatten, given platform-made client
// order ids so that the engine books them as the flatten's (engine/flatten_orders.py).
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using NinjaTrader.Cbi;
using NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol;

namespace NinjaTrader.NinjaScript.AddOns.TickBridge
{
    /// <summary>Account.Flatten ("Flattens the account on an instrument": its orders
    /// cancelled and its position closed, help guide flatten.md) closes a position with
    /// orders NinjaTrader makes itself; they carry no engine name, so they would reach the
    /// engine as external orders (client order id 0) and the flatten would not be booked.
    /// The help guide names neither those orders nor their properties, so they are
    /// recognised by what they do: an order first reported after the strategy called
    /// Flatten (not on the account just before the call), within <see cref="Window"/>, on
    /// an instrument the call flattened, a market order on the side that closes the
    /// position the call found, for no more than what is left of it to close. Such an
    /// order gets an id with the top bit set (the engine never makes one; bit 62 clear),
    /// 30 random bits drawn when the strategy starts, and a count. Not recognised: a
    /// closing order first reported later than the window, or after the strategy
    /// restarted (it stays external, id 0). Taken for one: an order the trader places by
    /// hand inside the window with every property of a closing order. Thread-safe:
    /// NinjaTrader raises Account events on its own threads, Flatten may raise them
    /// before it returns.</summary>
    public sealed class FlattenOrders
    {
        public const ulong PlatformMadeBit = 1UL << 63;
        public static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
        private const int Kept = 1000;  // ids remembered (a late fill of a finished order)

        private readonly object sync = new object();
        private readonly ulong session;
        private uint count;
        // Left to close per instrument (signed: + a long position), until the deadline.
        private readonly Dictionary<Instrument, int> open = new Dictionary<Instrument, int>();
        private readonly HashSet<Order> before = new HashSet<Order>(ByReference.Instance);
        private DateTime deadline;
        private readonly Dictionary<Order, ulong> ids = new Dictionary<Order, ulong>(ByReference.Instance);
        private readonly Queue<Order> remembered = new Queue<Order>();

        public FlattenOrders()
        {
            session = ((ulong)(uint)Guid.NewGuid().GetHashCode() & 0x3FFFFFFFUL) << 32;
        }

        public static bool IsPlatformMade(ulong clientOrderId)
        {
            return (clientOrderId & PlatformMadeBit) != 0;
        }

        /// <summary>Called just before Account.Flatten: the orders on the account now, and the
        /// signed positions it is about to close.</summary>
        public void Flattening(IEnumerable<Order> existing, IDictionary<Instrument, int> positions, DateTime utcNow)
        {
            lock (sync)
            {
                before.Clear();
                foreach (Order o in existing) before.Add(o);
                open.Clear();
                foreach (KeyValuePair<Instrument, int> p in positions)
                    if (p.Value != 0) open[p.Key] = p.Value;
                deadline = utcNow + Window;
            }
        }

        /// <summary>The order's platform-made id, given now if it is a closing order of the
        /// flatten being watched; 0 for any other order.</summary>
        public ulong Claim(Order o, DateTime utcNow)
        {
            lock (sync)
            {
                ulong id;
                if (ids.TryGetValue(o, out id)) return id;
                int left;
                if (open.Count == 0 || utcNow > deadline || before.Contains(o) || o.Instrument == null
                    || !open.TryGetValue(o.Instrument, out left) || o.OrderType != OrderType.Market
                    || o.Quantity <= 0 || o.Quantity > Math.Abs(left)
                    || Mapping.Side(o.OrderAction) != (left > 0 ? WireSide.Sell : WireSide.Buy))
                    return 0;
                left += left > 0 ? -o.Quantity : o.Quantity;
                if (left == 0) open.Remove(o.Instrument);
                else open[o.Instrument] = left;
                id = PlatformMadeBit | session | ++count;
                ids[o] = id;
                remembered.Enqueue(o);
                while (remembered.Count > Kept) ids.Remove(remembered.Dequeue());
                return id;
            }
        }

        /// <summary>The id given to the order (0: none).</summary>
        public ulong IdOf(Order o)
        {
            lock (sync)
            {
                ulong id;
                return o != null && ids.TryGetValue(o, out id) ? id : 0;
            }
        }

        // NinjaTrader reports one Order object per order in its events; whether Order
        // overrides Equals is not documented, so orders are compared as objects.
        private sealed class ByReference : IEqualityComparer<Order>
        {
            public static readonly ByReference Instance = new ByReference();
            public bool Equals(Order x, Order y) { return ReferenceEquals(x, y); }
            public int GetHashCode(Order o) { return RuntimeHelpers.GetHashCode(o); }
        }
    }
}
