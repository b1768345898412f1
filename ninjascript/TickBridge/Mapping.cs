// NinjaTrader <-> wire: order names carrying the engine's client order id, and enumerations.
using System.Globalization;
using NinjaTrader.Cbi;
using NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol;

namespace NinjaTrader.NinjaScript.AddOns.TickBridge
{
    /// <summary>The engine's client order id travels in the NinjaTrader order name as "TB"
    /// followed by its 16 uppercase hex digits, so an order is recognised after a restart of
    /// either side. Any other name is an external order (client order id 0).</summary>
    public static class ClientOrderIds
    {
        public const string Prefix = "TB";

        public static string Format(ulong clientOrderId)
        {
            return Prefix + clientOrderId.ToString("X16", CultureInfo.InvariantCulture);
        }

        public static ulong Parse(string name)
        {
            if (name == null || name.Length != 18 || name[0] != 'T' || name[1] != 'B') return 0;
            ulong value = 0;
            for (int i = 2; i < 18; i++)
            {
                char ch = name[i];
                int digit;
                if (ch >= '0' && ch <= '9') digit = ch - '0';
                else if (ch >= 'A' && ch <= 'F') digit = ch - 'A' + 10;
                else return 0;
                value = (value << 4) | (uint)digit;
            }
            return value;
        }
    }

    public static class Mapping
    {
        public static WireOrderStatus Status(OrderState state)
        {
            switch (state)
            {
                case OrderState.Initialized: return WireOrderStatus.NewRequested;
                case OrderState.Submitted: return WireOrderStatus.Submitted;
                case OrderState.Accepted: return WireOrderStatus.Acknowledged;
                case OrderState.TriggerPending: return WireOrderStatus.Working;   // accepted, waiting for its trigger
                case OrderState.Working: return WireOrderStatus.Working;
                case OrderState.PartFilled: return WireOrderStatus.PartiallyFilled;
                case OrderState.Filled: return WireOrderStatus.Filled;
                case OrderState.CancelPending: return WireOrderStatus.PendingCancel;
                case OrderState.CancelSubmitted: return WireOrderStatus.PendingCancel;
                case OrderState.Cancelled: return WireOrderStatus.Canceled;
                case OrderState.ChangePending: return WireOrderStatus.PendingReplace;
                case OrderState.ChangeSubmitted: return WireOrderStatus.PendingReplace;
                case OrderState.Rejected: return WireOrderStatus.Rejected;
                // Accepted by NinjaTrader's risk check, on its way to the broker: the platform holds it.
                case OrderState.AcceptedByRisk: return WireOrderStatus.Acknowledged;
                // Held by the broker (not working, cannot fill until released): accepted, not working.
                case OrderState.Suspended: return WireOrderStatus.Acknowledged;
                default: return WireOrderStatus.Submitted;                        // OrderState.Unknown
            }
        }

        public static bool IsTerminal(OrderState state)
        {
            return state == OrderState.Filled || state == OrderState.Cancelled || state == OrderState.Rejected;
        }

        public static WireSide Side(OrderAction action)
        {
            return action == OrderAction.Buy || action == OrderAction.BuyToCover ? WireSide.Buy : WireSide.Sell;
        }

        public static WireOrderType Type(OrderType type)
        {
            switch (type)
            {
                case OrderType.Market: return WireOrderType.Market;
                case OrderType.StopMarket: return WireOrderType.Stop;
                case OrderType.StopLimit: return WireOrderType.StopLimit;
                default: return WireOrderType.Limit;   // Limit, and MIT (a limit-like resting order)
            }
        }

        public static WireTimeInForce Tif(TimeInForce tif)
        {
            switch (tif)
            {
                case TimeInForce.Gtc: return WireTimeInForce.Gtc;
                case TimeInForce.Ioc: return WireTimeInForce.Ioc;
                default: return WireTimeInForce.Day;   // Day, and Gtd/Opg which the wire does not name
            }
        }
    }
}
