// Test host: plays NinjaTrader for the TickBridge strategy under Mono. It drives the
// state changes, feeds market data, fills orders, calls OnOrderUpdate from inside
// SubmitOrderUnmanaged (as NinjaTrader does), records every order method the strategy
// calls, and answers line commands on stdin with one JSON object per line on stdout.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Threading;
using NinjaTrader.Cbi;
using NinjaTrader.Data;
using NinjaTrader.Gui.Chart;
using NinjaTrader.NinjaScript;
using NinjaTrader.NinjaScript.AddOns.TickBridge;
using NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol;
using NinjaTrader.NinjaScript.Strategies;

namespace TickBridgeTestHost
{
    // The baseline of the benchmark: a strategy whose OnMarketData does nothing.
    public class EmptyStrategy : Strategy
    {
        public long Count;
        protected override void OnMarketData(MarketDataEventArgs marketDataUpdate) { Count++; }
    }

    public static class Json
    {
        public static string Write(object value)
        {
            var sb = new StringBuilder();
            Append(sb, value);
            return sb.ToString();
        }

        private static void Append(StringBuilder sb, object value)
        {
            if (value == null) { sb.Append("null"); return; }
            var s = value as string;
            if (s != null)
            {
                sb.Append('"');
                foreach (char ch in s)
                {
                    if (ch == '"' || ch == '\\') sb.Append('\\').Append(ch);
                    else if (ch < 0x20) sb.Append("\\u").Append(((int)ch).ToString("x4"));
                    else sb.Append(ch);
                }
                sb.Append('"');
                return;
            }
            if (value is bool) { sb.Append((bool)value ? "true" : "false"); return; }
            if (value is double) { sb.Append(((double)value).ToString("R", CultureInfo.InvariantCulture)); return; }
            if (value is float) { sb.Append(((float)value).ToString("R", CultureInfo.InvariantCulture)); return; }
            if (value is Enum) { Append(sb, value.ToString()); return; }
            if (value is IFormattable) { sb.Append(((IFormattable)value).ToString(null, CultureInfo.InvariantCulture)); return; }
            var dict = value as IDictionary<string, object>;
            if (dict != null)
            {
                sb.Append('{');
                bool first = true;
                foreach (var kv in dict)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Append(sb, kv.Key);
                    sb.Append(':');
                    Append(sb, kv.Value);
                }
                sb.Append('}');
                return;
            }
            var list = value as System.Collections.IEnumerable;
            if (list != null)
            {
                sb.Append('[');
                bool first = true;
                foreach (var item in list)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Append(sb, item);
                }
                sb.Append(']');
                return;
            }
            Append(sb, value.ToString());
        }
    }

    /// <summary>Plays NinjaTrader's order handling and records every call.</summary>
    public sealed class SimBroker : NinjaTrader.Stub.IBroker
    {
        public readonly List<Dictionary<string, object>> Calls = new List<Dictionary<string, object>>();
        public Strategy Strategy;                                     // the first strategy started
        public readonly List<Strategy> Strategies = new List<Strategy>();   // every strategy on the account
        public Account Account;
        public Instrument Instrument;
        public Position AccountPosition;
        private int nextOrderId = 1000;
        // Orders the strategy submitted: NinjaTrader calls the strategy's OnOrderUpdate and
        // OnExecutionUpdate for these only; the Account's events fire for every order.
        private readonly Dictionary<Order, Strategy> owners = new Dictionary<Order, Strategy>();
        // Orders marked for cancellation. Help guide, IgnoreOverfill: "An overfill is categorized
        // as when an order returns a "Filled" or "PartFilled" state after the order was already
        // marked for cancellation"; Unmanaged Approach: "By default, NinjaTrader will protect
        // against overfills even though you are using the Unmanaged approach by halting the strategy".
        private readonly HashSet<Order> cancelRequested = new HashSet<Order>();
        // Set by start hold_cancels=1: a cancel stays CancelPending (the exchange has not answered
        // yet), so a fill can race it.
        public bool HoldCancels;
        // Set by start fail_cancel=1 / fail_change=1: the broker refuses a cancel / change; the
        // order stays as it was and its update carries UnableToCancelOrder / UnableToChangeOrder.
        public bool FailCancels, FailChanges;
        // The order connection as the host last reported it (host command "connection").
        public volatile bool OrderFeedDown;

        // Help guide, Strategy > ConnectionLossHandling: "If the order feed disconnects and the
        // strategy places an order action while disconnected, the strategy is stopped" (the
        // KeepRunning mode "Keeps the strategy running").
        private void CheckOrderAction(Strategy strategy)
        {
            if (!OrderFeedDown || strategy.ConnectionLossHandling == ConnectionLossHandling.KeepRunning) return;
            Halts++;
            strategy.Print("Strategy stopped: order action while the order connection is down");
            ThreadPool.QueueUserWorkItem(delegate { strategy.StubSetState(State.Terminated); });
        }
        public int Halts;
        private int nextExecution = 1;

        private void Record(string method, params object[] pairs)
        {
            var call = new Dictionary<string, object>();
            call["method"] = method;
            // Where NinjaTrader would see the call come from: inside one of the script's
            // events (TriggerCustomEvent or a callback), never from the bridge's socket thread.
            bool inEvent = false;
            lock (Strategies) foreach (var s in Strategies) inEvent |= Monitor.IsEntered(s.StubEventLock);
            call["in_script_event"] = inEvent;
            call["thread"] = Thread.CurrentThread.Name ?? "";
            for (int i = 0; i + 1 < pairs.Length; i += 2) call[(string)pairs[i]] = pairs[i + 1];
            lock (Calls) Calls.Add(call);
        }

        public Order Submit(Strategy strategy, int selectedBarsInProgress, OrderAction orderAction, OrderType orderType, int quantity,
            double limitPrice, double stopPrice, string oco, string signalName)
        {
            Record("SubmitOrderUnmanaged", "selectedBarsInProgress", selectedBarsInProgress, "orderAction", orderAction,
                "orderType", orderType, "quantity", quantity, "limitPrice", limitPrice, "stopPrice", stopPrice, "oco", oco,
                "signalName", signalName, "timeInForce", strategy.TimeInForce);
            CheckOrderAction(strategy);
            var order = new Order();
            order.Name = signalName;
            order.OrderId = (nextOrderId++).ToString(CultureInfo.InvariantCulture);
            order.Account = Account;
            order.Instrument = strategy.Instrument;
            order.OrderAction = orderAction;
            order.OrderType = orderType;
            order.Quantity = quantity;
            order.LimitPrice = limitPrice;
            order.StopPrice = stopPrice;
            order.TimeInForce = strategy.TimeInForce;
            lock (Account.Orders) Account.Orders.Add(order);
            lock (owners) owners[order] = strategy;
            // NinjaTrader calls OnOrderUpdate from inside SubmitOrderUnmanaged, before it returns.
            Transition(order, OrderState.Submitted);
            Transition(order, OrderState.Accepted);
            Transition(order, OrderState.Working);
            return order;
        }

        public void Transition(Order order, OrderState state)
        {
            order.OrderState = state;
            order.Time = DateTime.UtcNow;
            RaiseOrderUpdate(order);
        }

        private Strategy Owner(Order order)
        {
            Strategy owner;
            lock (owners) return order != null && owners.TryGetValue(order, out owner) ? owner : null;
        }

        private bool Owned(Order order)
        {
            return Owner(order) != null;
        }

        private List<Strategy> On(Instrument instrument)
        {
            lock (Strategies) return Strategies.Where(s => s.Instrument == instrument).ToList();
        }

        /// <summary>The account's position in an instrument (one Position object per instrument).</summary>
        public Position PositionOf(Instrument instrument)
        {
            lock (Account.Positions)
            {
                foreach (var p in Account.Positions) if (p.Instrument == instrument) return p;
                var created = new Position();
                created.MarketPosition = MarketPosition.Flat;
                created.Instrument = instrument;
                created.Account = Account;
                Account.Positions.Add(created);
                return created;
            }
        }

        private void RaiseOrderUpdate(Order order)
        {
            RaiseOrderUpdate(order, ErrorCode.NoError, "");
        }

        private void RaiseOrderUpdate(Order order, ErrorCode error, string comment)
        {
            var owner = Owner(order);
            if (owner != null) owner.StubOrderUpdate(order, error, comment);
            Account.StubOrderUpdate(order, error, comment);
        }

        /// <summary>Host command "state": an order moves to a state the broker reports.</summary>
        public void SetState(Order order, OrderState state)
        {
            Transition(order, state);
        }

        private void RaiseExecution(Execution e)
        {
            var owner = Owner(e.Order);
            if (owner != null) owner.StubExecutionUpdate(e);
            Account.StubExecutionUpdate(e);
        }

        public void Change(Strategy strategy, Order order, int quantity, double limitPrice, double stopPrice)
        {
            Record("ChangeOrder", "name", order.Name, "quantity", quantity, "limitPrice", limitPrice, "stopPrice", stopPrice);
            CheckOrderAction(strategy);
            Transition(order, OrderState.ChangePending);
            if (FailChanges)
            {
                order.OrderState = OrderState.Working;
                RaiseOrderUpdate(order, ErrorCode.UnableToChangeOrder, "Order is in an invalid state");
                return;
            }
            order.Quantity = quantity;
            order.LimitPrice = limitPrice;
            order.StopPrice = stopPrice;
            Transition(order, OrderState.Working);
        }

        public void Cancel(Strategy strategy, Order order)
        {
            Record("CancelOrder", "name", order.Name);
            CheckOrderAction(strategy);
            CancelNow(order);
        }

        private void CancelNow(Order order)
        {
            if (order.OrderState == OrderState.Filled || order.OrderState == OrderState.Cancelled || order.OrderState == OrderState.Rejected) return;
            lock (cancelRequested) cancelRequested.Add(order);
            Transition(order, OrderState.CancelPending);
            if (FailCancels)
            {
                order.OrderState = OrderState.Working;
                RaiseOrderUpdate(order, ErrorCode.UnableToCancelOrder, "Too late to cancel");
                return;
            }
            if (HoldCancels) return;
            Transition(order, OrderState.Cancelled);
        }

        public void AccountCancelAllOrders(Account account, Instrument instrument)
        {
            Record("Account.CancelAllOrders", "instrument", instrument.FullName);
            foreach (var order in Snapshot(account)) if (order.Instrument == instrument) CancelNow(order);
        }

        // Help guide, Account > Flatten(): "A collection of Instruments for orders to be
        // cancelled and positions closed". How NinjaTrader closes a position it does not say;
        // modelled as its own market order (named "Close" here; the shim does not read the
        // name) that closes the whole position, reported on the Account's events only (no
        // strategy owns it), raised before Flatten returns. FlattenFills (host command
        // "flatten_fills") says whether it fills at once or stays working.
        public bool FlattenFills = true;
        public double FlattenPrice = 6011.0;

        public void AccountFlatten(Account account, ICollection<Instrument> instruments)
        {
            Record("Account.Flatten", "instruments", instruments.Select(i => i.FullName).ToList());
            foreach (var instrument in instruments)
            {
                foreach (var working in Snapshot(account)) if (working.Instrument == instrument) CancelNow(working);
                var position = PositionOf(instrument);
                if (position.MarketPosition == MarketPosition.Flat) continue;
                var order = Place("Close", instrument, position.MarketPosition == MarketPosition.Long ? OrderAction.Sell
                    : OrderAction.BuyToCover, OrderType.Market, position.Quantity, 0);
                if (!FlattenFills) continue;
                Fill(order, order.Quantity, FlattenPrice, false);
                foreach (var s in On(instrument)) s.StubPositionUpdate(position);
            }
        }

        /// <summary>An order nobody's strategy submitted (placed by hand, or by NinjaTrader
        /// itself), working on the account: only the Account's events report it.</summary>
        public Order Place(string name, Instrument instrument, OrderAction action, OrderType type, int quantity, double limitPrice)
        {
            var order = new Order();
            order.Name = name;
            order.OrderId = (nextOrderId++).ToString(CultureInfo.InvariantCulture);
            order.Account = Account;
            order.Instrument = instrument;
            order.OrderAction = action;
            order.OrderType = type;
            order.Quantity = quantity;
            order.LimitPrice = limitPrice;
            order.TimeInForce = TimeInForce.Day;
            lock (Account.Orders) Account.Orders.Add(order);
            Transition(order, OrderState.Submitted);
            Transition(order, OrderState.Accepted);
            Transition(order, OrderState.Working);
            return order;
        }


        /// <summary>What NinjaTrader does when a strategy starts (between Transition and Realtime).
        /// Help guide, Syncing Account Positions: with every start behaviour it "will check for any
        /// active orders previously generated by the strategy on your account and cancel those first"
        /// (they match no active strategy order: the bridge has no historical ones); with
        /// WaitUntilFlatSynchronizeAccount, "If the Account Position is not flat, NinjaTrader will
        /// submit a market order(s) to reconcile the Account Position to a flat state", and with
        /// ImmediatelySubmitSynchronizeAccount one that makes it match the strategy position (flat
        /// here); "The reconciliatory market order is submitted outside of the strategy".
        /// AdoptAccountPosition needs IsAdoptAccountPositionAware ("Note: In order to use
        /// AdoptAccountPosition you will need to first set IsAdoptAccountPositionAware to true").</summary>
        public void ApplyStartBehavior(Strategy strategy)
        {
            if (strategy.StartBehavior == StartBehavior.AdoptAccountPosition && !strategy.IsAdoptAccountPositionAware)
            {
                strategy.Print("Strategy not started: AdoptAccountPosition needs IsAdoptAccountPositionAware");
                strategy.StubSetState(State.Terminated);
                return;
            }
            var previous = Snapshot(Account).Where(o => o.StubGeneratedBy == strategy.Name && o.Instrument == strategy.Instrument
                && o.OrderState != OrderState.Filled && o.OrderState != OrderState.Cancelled && o.OrderState != OrderState.Rejected).ToList();
            foreach (var order in previous)
            {
                Record("NinjaTrader.CancelAtStart", "name", order.Name, "startBehavior", strategy.StartBehavior);
                CancelNow(order);
            }
            if (strategy.StartBehavior == StartBehavior.WaitUntilFlatSynchronizeAccount
                || strategy.StartBehavior == StartBehavior.ImmediatelySubmitSynchronizeAccount)
            {
                var position = PositionOf(strategy.Instrument);
                if (position.MarketPosition == MarketPosition.Flat) return;
                Record("NinjaTrader.ReconcileAtStart", "startBehavior", strategy.StartBehavior, "quantity", position.Quantity);
                var closed = position.MarketPosition;
                int closedQuantity = position.Quantity;
                position.MarketPosition = MarketPosition.Flat;
                position.Quantity = 0;
                Account.StubPositionUpdate(position, Operation.Remove, closed, closedQuantity, position.AveragePrice);
            }
        }

        public void AccountCancel(Account account, IEnumerable<Order> orders)
        {
            var list = orders.ToList();
            Record("Account.Cancel", "names", list.Select(o => o.Name).ToList());
            foreach (var order in list) CancelNow(order);
        }

        public void AccountChange(Account account, IEnumerable<Order> orders)
        {
            var list = orders.ToList();
            Record("Account.Change", "names", list.Select(o => o.Name).ToList(),
                "quantities", list.Select(o => (object)o.QuantityChanged).ToList());
        }

        private static List<Order> Snapshot(Account account)
        {
            lock (account.Orders) return account.Orders.ToList();
        }

        public Order FindByOrderId(string orderId)
        {
            foreach (var order in Snapshot(Account)) if (order.OrderId == orderId) return order;
            return null;
        }

        public Order FindByName(string name)
        {
            foreach (var order in Snapshot(Account)) if (order.Name == name) return order;
            return null;
        }

        public Execution Fill(Order order, int quantity, double price, bool executionFirst)
        {
            bool overfill;
            lock (cancelRequested) overfill = cancelRequested.Contains(order);
            var halted = Owner(order);
            if (overfill && halted != null && !halted.IgnoreOverfill && halted.State != State.Terminated)
            {
                // NinjaTrader halts the strategy: it is disabled before it sees the fill.
                Halts++;
                halted.Print("Strategy halted: overfill on " + order.Name);
                halted.StubSetState(State.Terminated);
            }
            double total = order.AverageFillPrice * order.Filled + price * quantity;
            order.Filled += quantity;
            order.AverageFillPrice = total / order.Filled;
            order.OrderState = order.Filled >= order.Quantity ? OrderState.Filled : OrderState.PartFilled;
            order.Time = DateTime.UtcNow;
            var e = new Execution();
            e.ExecutionId = "ex" + (nextExecution++).ToString("D4") + Guid.NewGuid().ToString("N").Substring(0, 20);
            e.OrderId = order.OrderId;
            e.Name = order.Name;
            e.Order = order;
            e.Instrument = order.Instrument;
            e.Account = Account;
            e.Price = price;
            e.Quantity = quantity;
            bool buy = order.OrderAction == OrderAction.Buy || order.OrderAction == OrderAction.BuyToCover;
            e.MarketPosition = buy ? MarketPosition.Long : MarketPosition.Short;
            e.Time = order.Time;
            lock (Account.Executions) Account.Executions.Add(e);
            // Some brokers deliver the execution before the order update, some after.
            if (executionFirst) RaiseExecution(e);
            RaiseOrderUpdate(order);
            if (!executionFirst) RaiseExecution(e);
            var account = PositionOf(order.Instrument);
            var before = account.MarketPosition;
            int quantityBefore = account.Quantity;
            int signedBefore = Signed(account);
            int signedAfter = signedBefore + (buy ? quantity : -quantity);
            account.AveragePrice = price;
            account.Quantity = Math.Abs(signedAfter);
            account.MarketPosition = signedAfter > 0 ? MarketPosition.Long : signedAfter < 0 ? MarketPosition.Short : MarketPosition.Flat;
            foreach (var s in On(order.Instrument))
            {
                s.Position.MarketPosition = account.MarketPosition;
                s.Position.Quantity = account.Quantity;
            }
            var filler = Owner(order);
            if (filler != null) filler.StubPositionUpdate(account);
            // Help guide, Account > PositionUpdate: flat is an Operation.Remove (its values are the
            // closed position's); a reverse with no flat state between is an Operation.Update.
            if (account.MarketPosition == MarketPosition.Flat) Account.StubPositionUpdate(account, Operation.Remove, before, quantityBefore, account.AveragePrice);
            else Account.StubPositionUpdate(account);
            return e;
        }

        private static int Signed(Position p)
        {
            return p.MarketPosition == MarketPosition.Short ? -p.Quantity : p.MarketPosition == MarketPosition.Long ? p.Quantity : 0;
        }
    }

    /// <summary>Every NinjaTrader type member the shim's compiled code uses (read from its IL:
    /// calls, field and token references, and the virtual methods it overrides), and every
    /// enum those members carry, as the stub declares them: the conformance test
    /// (tests/ninjascript/test_conformance.py) checks them against the NT8 member list.</summary>
    public static class ApiUse
    {
        private static readonly Dictionary<short, System.Reflection.Emit.OpCode> OpCodes = LoadOpCodes();

        private static Dictionary<short, System.Reflection.Emit.OpCode> LoadOpCodes()
        {
            var d = new Dictionary<short, System.Reflection.Emit.OpCode>();
            foreach (var f in typeof(System.Reflection.Emit.OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                var op = (System.Reflection.Emit.OpCode)f.GetValue(null);
                d[op.Value] = op;
            }
            return d;
        }

        private static bool IsPlatform(Type t)
        {
            if (t == null) return false;
            while (t.IsNested) t = t.DeclaringType;
            string ns = t.Namespace ?? "";
            return (ns.StartsWith("NinjaTrader", StringComparison.Ordinal) && !ns.StartsWith("NinjaTrader.NinjaScript.AddOns.TickBridge", StringComparison.Ordinal)
                && !ns.StartsWith("NinjaTrader.Stub", StringComparison.Ordinal) && t != typeof(TickBridgeStrategy))
                || ns.StartsWith("System.Windows", StringComparison.Ordinal);
        }

        public static string Name(Type t)
        {
            if (t.IsGenericType)
            {
                string n = t.GetGenericTypeDefinition().FullName;
                n = n.Substring(0, n.IndexOf('`'));
                return n + "<" + string.Join(",", t.GetGenericArguments().Select(a => Name(a)).ToArray()) + ">";
            }
            if (t.IsArray) return Name(t.GetElementType()) + "[]";
            if (t.IsByRef) return Name(t.GetElementType()) + "&";
            return t.FullName ?? t.Name;
        }

        private static string Describe(MemberInfo m)
        {
            var method = m as MethodBase;
            if (method != null)
            {
                if (method.IsSpecialName && method is MethodInfo)
                {
                    string n = method.Name;
                    int cut = n.IndexOf('_');
                    string owner = n.Substring(cut + 1);
                    if (n.StartsWith("get_") || n.StartsWith("set_"))
                    {
                        var p = method.DeclaringType.GetProperty(owner, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static);
                        if (p != null) return Describe(p);
                    }
                    if (n.StartsWith("add_") || n.StartsWith("remove_"))
                    {
                        var e = method.DeclaringType.GetEvent(owner, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static);
                        if (e != null) return Describe(e);
                    }
                }
                var parameters = string.Join(", ", method.GetParameters().Select(p => Name(p.ParameterType)).ToArray());
                var info = method as MethodInfo;
                string kind = method.IsConstructor ? "ctor" : (method.IsStatic ? "static method" : "method");
                return kind + " " + Name(method.DeclaringType) + "." + (method.IsConstructor ? "ctor" : method.Name) + "(" + parameters + ")"
                    + (info != null ? " : " + Name(info.ReturnType) : "");
            }
            var property = m as PropertyInfo;
            if (property != null)
            {
                var getter = property.GetGetMethod(true) ?? property.GetSetMethod(true);
                return (getter != null && getter.IsStatic ? "static property " : "property ") + Name(property.DeclaringType) + "." + property.Name + " : " + Name(property.PropertyType);
            }
            var field = m as FieldInfo;
            if (field != null)
                return (field.IsStatic ? "static field " : "field ") + Name(field.DeclaringType) + "." + field.Name + " : " + Name(field.FieldType);
            var ev = m as EventInfo;
            if (ev != null) return "event " + Name(ev.DeclaringType) + "." + ev.Name + " : " + Name(ev.EventHandlerType);
            var type = m as Type;
            if (type != null) return "type " + Name(type);
            return m.ToString();
        }

        private static void Types(Type t, HashSet<Type> into)
        {
            if (t == null) return;
            if (t.IsArray || t.IsByRef) { Types(t.GetElementType(), into); return; }
            if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) Types(a, into);
            if (IsPlatform(t)) into.Add(t);
        }

        private static void SignatureTypes(MemberInfo m, HashSet<Type> into)
        {
            into.Add(m.DeclaringType ?? (Type)m);
            var method = m as MethodBase;
            if (method != null)
            {
                foreach (var p in method.GetParameters()) Types(p.ParameterType, into);
                var info = method as MethodInfo;
                if (info != null) Types(info.ReturnType, into);
            }
            var field = m as FieldInfo;
            if (field != null) Types(field.FieldType, into);
        }

        public static Dictionary<string, object> Report()
        {
            var used = new HashSet<string>();
            var types = new HashSet<Type>();
            var shim = typeof(TickBridgeStrategy).Assembly.GetTypes().Where(t =>
                t == typeof(TickBridgeStrategy) || t.DeclaringType == typeof(TickBridgeStrategy)
                || (t.Namespace ?? "").StartsWith("NinjaTrader.NinjaScript.AddOns.TickBridge", StringComparison.Ordinal));
            foreach (var t in shim)
            {
                Types(t.BaseType, types);
                foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
                    Types(f.FieldType, types);
                foreach (var m in t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly).Cast<MethodBase>()
                    .Concat(t.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)))
                {
                    var info = m as MethodInfo;
                    if (info != null && info.GetBaseDefinition() != info && IsPlatform(info.GetBaseDefinition().DeclaringType))
                    {
                        used.Add("override " + Describe(info.GetBaseDefinition()));
                        SignatureTypes(info.GetBaseDefinition(), types);
                    }
                    foreach (var p in m.GetParameters()) Types(p.ParameterType, types);
                    var body = m.GetMethodBody();
                    if (body == null) continue;
                    foreach (var local in body.LocalVariables) Types(local.LocalType, types);
                    var il = body.GetILAsByteArray();
                    int i = 0;
                    while (i < il.Length)
                    {
                        short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
                        var op = OpCodes[value];
                        i += op.Size;
                        int operand;
                        switch (op.OperandType)
                        {
                            case System.Reflection.Emit.OperandType.InlineNone: operand = 0; break;
                            case System.Reflection.Emit.OperandType.ShortInlineBrTarget:
                            case System.Reflection.Emit.OperandType.ShortInlineI:
                            case System.Reflection.Emit.OperandType.ShortInlineVar: operand = 1; break;
                            case System.Reflection.Emit.OperandType.InlineVar: operand = 2; break;
                            case System.Reflection.Emit.OperandType.InlineI8:
                            case System.Reflection.Emit.OperandType.InlineR: operand = 8; break;
                            case System.Reflection.Emit.OperandType.InlineSwitch: operand = 4 + 4 * BitConverter.ToInt32(il, i); break;
                            default: operand = 4; break;
                        }
                        if (op.OperandType == System.Reflection.Emit.OperandType.InlineMethod || op.OperandType == System.Reflection.Emit.OperandType.InlineField
                            || op.OperandType == System.Reflection.Emit.OperandType.InlineTok || op.OperandType == System.Reflection.Emit.OperandType.InlineType)
                        {
                            int token = BitConverter.ToInt32(il, i);
                            MemberInfo member = null;
                            try
                            {
                                member = t.Module.ResolveMember(token, t.IsGenericType ? t.GetGenericArguments() : null,
                                    m.IsGenericMethod ? m.GetGenericArguments() : null);
                            }
                            catch (ArgumentException) { }
                            if (member != null)
                            {
                                var declaring = member as Type ?? member.DeclaringType;
                                if (IsPlatform(declaring))
                                {
                                    used.Add(Describe(member));
                                    SignatureTypes(member, types);
                                }
                                else if (member is MethodBase || member is FieldInfo)
                                {
                                    // generic instantiations over platform types (List<Order>) still name them
                                    Types(declaring, types);
                                    SignatureTypes(member, new HashSet<Type>());
                                }
                                else if (member is Type) Types((Type)member, types);
                            }
                        }
                        i += operand;
                    }
                }
            }
            var enums = new Dictionary<string, object>();
            foreach (var t in types)
            {
                used.Add("type " + Name(t));
                if (!t.IsEnum) continue;
                var values = new Dictionary<string, object>();
                foreach (var name in Enum.GetNames(t)) values[name] = Convert.ToInt64(Enum.Parse(t, name));
                enums[Name(t)] = values;
            }
            var r = new Dictionary<string, object>();
            r["event"] = "api";
            r["members"] = used.OrderBy(x => x, StringComparer.Ordinal).ToList();
            r["enums"] = enums;
            return r;
        }
    }

    public static class Program
    {
        private static readonly object OutputLock = new object();
        private static readonly List<string> Logs = new List<string>();
        private static TickBridgeStrategy strategy;
        private static TickBridgeStrategy second;
        private static SimBroker broker;
        private static Chart chart;
        private static readonly DateTime Epoch = new DateTime(2026, 11, 24, 14, 30, 0, DateTimeKind.Unspecified);

        private static void Emit(Dictionary<string, object> result)
        {
            lock (OutputLock)
            {
                Console.Out.WriteLine(Json.Write(result));
                Console.Out.Flush();
            }
        }

        private static Dictionary<string, object> Result(string eventName)
        {
            var d = new Dictionary<string, object>();
            d["event"] = eventName;
            return d;
        }

        public static int Main(string[] args)
        {
            NinjaTrader.Stub.Hooks.Output = delegate(string text)
            {
                lock (Logs) Logs.Add(text);
                Console.Error.WriteLine(text);
            };
            if (args.Length >= 2 && args[0] == "vectors") return Vectors(args[1]);
            string line;
            while ((line = Console.In.ReadLine()) != null)
            {
                var words = line.Trim().Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0) continue;
                try
                {
                    if (words[0] == "quit") break;
                    Dispatch(words);
                }
                catch (Exception e)
                {
                    var r = Result("error");
                    r["command"] = line;
                    r["message"] = e.ToString();
                    Emit(r);
                }
            }
            if (strategy != null && strategy.State != State.Terminated) strategy.StubSetState(State.Terminated);
            if (second != null && second.State != State.Terminated) second.StubSetState(State.Terminated);
            return 0;
        }

        private static Dictionary<string, string> Options(string[] words)
        {
            var d = new Dictionary<string, string>();
            for (int i = 1; i < words.Length; i++)
            {
                int eq = words[i].IndexOf('=');
                if (eq > 0) d[words[i].Substring(0, eq)] = words[i].Substring(eq + 1);
            }
            return d;
        }

        private static void Dispatch(string[] words)
        {
            var o = Options(words);
            switch (words[0])
            {
                case "start": Start(o); break;
                case "start2": StartSecond(o); break;
                case "market": Market(); break;
                case "external": External(); break;
                case "hand": Hand(o); break;
                case "flatten_fills":
                    broker.FlattenFills = o["on"] == "1";
                    Emit(Result("flatten_fills"));
                    break;
                case "fill": FillCommand(o); break;
                case "state":
                {
                    var order = broker.FindByName(ClientOrderIds.Format(ulong.Parse(o["id"])));
                    broker.SetState(order, (OrderState)Enum.Parse(typeof(OrderState), o["state"]));
                    Emit(Result("state"));
                    break;
                }
                case "reject_next": break;
                case "calls":
                {
                    var r = Result("calls");
                    lock (broker.Calls) r["calls"] = broker.Calls.ToList();
                    Emit(r);
                    break;
                }
                case "logs":
                {
                    var r = Result("logs");
                    lock (Logs) r["logs"] = Logs.ToList();
                    Emit(r);
                    break;
                }
                case "stats": Emit(Stats()); break;
                case "chart":
                {
                    // What the strategy drew on its chart (Draw.TextFixed), by tag.
                    var r = Result("chart");
                    var texts = new Dictionary<string, object>();
                    lock (NinjaTrader.NinjaScript.DrawingTools.Draw.StubDrawn)
                    {
                        Dictionary<string, NinjaTrader.NinjaScript.DrawingTools.TextFixed> tags;
                        if (NinjaTrader.NinjaScript.DrawingTools.Draw.StubDrawn.TryGetValue(strategy, out tags))
                            foreach (var entry in tags) texts[entry.Key] = entry.Value.DisplayText;
                    }
                    r["texts"] = texts;
                    Emit(r);
                    break;
                }
                case "properties": Emit(Properties()); break;
                case "api": Emit(ApiUse.Report()); break;
                case "connection":
                {
                    // connection status=ConnectionLost [price=Connected]: the account's connection changes
                    var e = new ConnectionStatusEventArgs();
                    e.Status = (ConnectionStatus)Enum.Parse(typeof(ConnectionStatus), o["status"]);
                    e.PriceStatus = o.ContainsKey("price") ? (ConnectionStatus)Enum.Parse(typeof(ConnectionStatus), o["price"]) : e.Status;
                    e.Connection = broker.Account.Connection ?? new Connection();
                    e.Connection.Status = e.Status;
                    e.Connection.PriceStatus = e.PriceStatus;
                    broker.OrderFeedDown = e.Status != ConnectionStatus.Connected;
                    List<Strategy> all;
                    lock (broker.Strategies) all = broker.Strategies.ToList();
                    foreach (var s in all) s.StubConnectionStatus(e);
                    Emit(Result("connection"));
                    break;
                }
                case "timing": Timing(int.Parse(o["n"]), false); break;
                case "empty_timing": Timing(int.Parse(o["n"]), true); break;
                case "flood": Flood(int.Parse(o["n"])); break;
                case "click_kill":
                {
                    // a click happens on the UI thread
                    var button = chart.MainMenu.OfType<System.Windows.Controls.Button>().First();
                    strategy.ChartControl.Dispatcher.InvokeAsync(new Action(button.StubClick));
                    strategy.ChartControl.Dispatcher.StubWaitIdle(10000);
                    var r = Result("clicked");
                    r["content"] = button.Content;
                    r["tooltip"] = button.ToolTip;
                    Emit(r);
                    break;
                }
                case "trigger":
                {
                    if (o.ContainsKey("skip")) strategy.StubTriggerSkips = int.Parse(o["skip"]);
                    if (o.ContainsKey("never")) strategy.StubTriggerNever = o["never"] == "1";
                    var r = Result("trigger");
                    r["skipped"] = strategy.StubTriggerSkipped;
                    Emit(r);
                    break;
                }
                case "terminate": Terminate(); break;
                case "race": Race(int.Parse(o["ms"])); break;
                case "sleep": Thread.Sleep(int.Parse(o["ms"])); Emit(Result("slept")); break;
                default: throw new ArgumentException("unknown command " + words[0]);
            }
        }

        private static void Start(Dictionary<string, string> o)
        {
            var master = new MasterInstrument();
            master.Name = "ES"; master.TickSize = 0.25; master.PointValue = 50;
            var instrument = new Instrument();
            instrument.FullName = "ES 12-26"; instrument.MasterInstrument = master; instrument.Exchange = Exchange.Globex;
            var account = new Account();
            account.Name = o.ContainsKey("account") ? o["account"] : "Sim101";
            account.Provider = account.Name.StartsWith("Sim") ? Provider.Simulator : Provider.InteractiveBrokers;
            broker = new SimBroker();
            broker.Account = account;
            broker.Instrument = instrument;
            broker.HoldCancels = o.ContainsKey("hold_cancels") && o["hold_cancels"] == "1";
            broker.FailCancels = o.ContainsKey("fail_cancel") && o["fail_cancel"] == "1";
            broker.FailChanges = o.ContainsKey("fail_change") && o["fail_change"] == "1";
            broker.AccountPosition = new Position();
            broker.AccountPosition.MarketPosition = MarketPosition.Flat;
            broker.AccountPosition.Instrument = instrument;
            broker.AccountPosition.Account = account;
            lock (account.Positions) account.Positions.Add(broker.AccountPosition);
            NinjaTrader.Stub.Hooks.Broker = broker;

            if (o.ContainsKey("preexisting"))
            {
                // An engine order left working by a previous run (restart of NinjaTrader or the strategy).
                var old = new Order();
                old.Name = ClientOrderIds.Format(ulong.Parse(o["preexisting"]));
                old.OrderId = "900";
                old.Account = account; old.Instrument = instrument; old.OrderAction = OrderAction.Buy;
                old.OrderType = OrderType.Limit; old.Quantity = 1; old.LimitPrice = 6000; old.OrderState = OrderState.Working;
                // preexisting_by=TickBridge: generated by this strategy in its earlier run (NinjaTrader's
                // start behaviour cancels it); without: placed otherwise (e.g. the Account, by hand).
                if (o.ContainsKey("preexisting_by")) old.StubGeneratedBy = o["preexisting_by"];
                lock (account.Orders) account.Orders.Add(old);
            }
            account.Connection = new Connection();
            account.Connection.Status = ConnectionStatus.Connected;
            account.Connection.PriceStatus = ConnectionStatus.Connected;
            if (o.ContainsKey("account_position"))
            {
                // The account holds a position the strategy did not make (signed: + long, - short).
                int held = int.Parse(o["account_position"]);
                broker.AccountPosition.MarketPosition = held > 0 ? MarketPosition.Long : held < 0 ? MarketPosition.Short : MarketPosition.Flat;
                broker.AccountPosition.Quantity = Math.Abs(held);
                broker.AccountPosition.AveragePrice = 6000;
            }

            strategy = new TickBridgeStrategy();
            broker.Strategy = strategy;
            lock (broker.Strategies) broker.Strategies.Add(strategy);
            Emit(Run(strategy, instrument, account, o, "started"));
        }

        // A second strategy on the same account (another chart), on NQ: start2 engine=... kill=...
        private static void StartSecond(Dictionary<string, string> o)
        {
            var master = new MasterInstrument();
            master.Name = "NQ"; master.TickSize = 0.25; master.PointValue = 20;
            var instrument = new Instrument();
            instrument.FullName = "NQ 12-26"; instrument.MasterInstrument = master; instrument.Exchange = Exchange.Globex;
            second = new TickBridgeStrategy();
            lock (broker.Strategies) broker.Strategies.Add(second);
            Emit(Run(second, instrument, broker.Account, o, "started2"));
        }

        // SetDefaults, the properties the test gives, then Configure .. Realtime.
        private static Dictionary<string, object> Run(TickBridgeStrategy strategy, Instrument instrument, Account account,
            Dictionary<string, string> o, string eventName)
        {
            strategy.StubSetState(State.SetDefaults);
            var r = Result(eventName);
            r["sockets_after_setdefaults"] = Bridge.OpenSockets;
            if (o.ContainsKey("engine")) strategy.EngineEndpoint = o["engine"];
            if (o.ContainsKey("kill")) strategy.KillEndpoint = o["kill"] == "none" ? "" : o["kill"];
            if (o.ContainsKey("secret")) strategy.KillSecret = o["secret"];
            if (o.ContainsKey("secret_file")) strategy.KillSecretFile = o["secret_file"];
            if (o.ContainsKey("zmq_folder")) strategy.NativeLibraryFolder = o["zmq_folder"];
            strategy.Category = o.ContainsKey("category") ? (Category)Enum.Parse(typeof(Category), o["category"]) : Category.NinjaScript;
            if (o.ContainsKey("hb")) strategy.HeartbeatIntervalMs = int.Parse(o["hb"]);
            if (o.ContainsKey("silence")) strategy.SilenceHeartbeats = int.Parse(o["silence"]);
            if (o.ContainsKey("cod")) strategy.CancelOnDisconnect = o["cod"] == "1";
            if (o.ContainsKey("depth")) strategy.ForwardDepth = o["depth"] == "1";
            if (o.ContainsKey("curve_server")) strategy.CurveServerKey = o["curve_server"];
            if (o.ContainsKey("curve_key")) strategy.CurveClientKey = o["curve_key"];
            if (o.ContainsKey("max_finished")) strategy.FinishedOrdersKept = int.Parse(o["max_finished"]);
            if (o.ContainsKey("data_dir")) NinjaTrader.Core.Globals.UserDataDir = o["data_dir"];
            if (o.ContainsKey("start_behavior"))
                strategy.StartBehavior = (StartBehavior)Enum.Parse(typeof(StartBehavior), o["start_behavior"]);
            strategy.Account = account;
            strategy.Instrument = instrument;
            var chart = new Chart();
            if (eventName == "started") Program.chart = chart;
            var control = new ChartControl();
            control.Parent = chart;
            control.Dispatcher = new System.Windows.Threading.Dispatcher();
            strategy.ChartControl = control;
            strategy.StubSetState(State.Configure);
            strategy.StubSetState(State.DataLoaded);
            strategy.StubSetState(State.Historical);
            strategy.StubSetState(State.Transition);
            if (strategy.State == State.Transition) broker.ApplyStartBehavior(strategy);
            strategy.StubSetState(State.Realtime);
            r["session_id"] = strategy.CurrentBridge != null ? strategy.CurrentBridge.SessionId.ToString() : "0";
            r["state"] = strategy.State.ToString();
            control.Dispatcher.StubWaitIdle(10000);   // the kill button is added on the UI thread
            r["kill_button"] = chart.MainMenu.Count;
            r["sockets"] = Bridge.OpenSockets;
            return r;
        }

        private static MarketDataEventArgs Md(MarketDataType type, double price, long volume, int offsetMs)
        {
            var e = new MarketDataEventArgs();
            e.Instrument = broker.Instrument; e.MarketDataType = type; e.Price = price; e.Volume = volume;
            e.Time = Epoch.AddMilliseconds(offsetMs);
            return e;
        }

        private static MarketDepthEventArgs Depth(MarketDataType type, Operation op, int position, double price, long volume, bool reset)
        {
            var e = new MarketDepthEventArgs();
            e.Instrument = broker.Instrument; e.MarketDataType = type; e.Operation = op; e.Position = position; e.Price = price;
            e.Volume = volume; e.IsReset = reset; e.Time = Epoch;
            return e;
        }

        private static void Market()
        {
            strategy.StubMarketData(Md(MarketDataType.Bid, 6012.50, 41, 0));
            strategy.StubMarketData(Md(MarketDataType.Ask, 6012.75, 17, 1));
            strategy.StubMarketData(Md(MarketDataType.Last, 6012.75, 3, 2));   // at the ask: buyer
            strategy.StubMarketData(Md(MarketDataType.Last, 6012.50, 2, 3));   // at the bid: seller
            strategy.StubMarketData(Md(MarketDataType.DailyHigh, 6020, 0, 4)); // not forwarded
            strategy.StubMarketDepth(Depth(MarketDataType.Bid, Operation.Add, 4, 6011.50, 120, false));
            strategy.StubMarketDepth(Depth(MarketDataType.Ask, Operation.Remove, 2, 6013.25, 0, false));
            strategy.StubMarketDepth(Depth(MarketDataType.Bid, Operation.Update, 0, 0, 0, true));
            Emit(Result("market"));
        }

        // An order placed by hand in NinjaTrader (not by the engine), its fill, and account values.
        private static void External()
        {
            var order = new Order();
            order.Name = "Entry"; order.OrderId = "555"; order.Account = broker.Account; order.Instrument = broker.Instrument;
            order.OrderAction = OrderAction.SellShort; order.OrderType = OrderType.Limit; order.Quantity = 2;
            order.LimitPrice = 6015.25; order.TimeInForce = TimeInForce.Gtc;
            lock (broker.Account.Orders) broker.Account.Orders.Add(order);
            broker.Transition(order, OrderState.Working);
            broker.Fill(order, 2, 6015.25, true);
            broker.Account.StubSetValue(AccountItem.CashValue, 100000.5);
            broker.Account.StubSetValue(AccountItem.RealizedProfitLoss, 250);
            broker.Account.StubSetValue(AccountItem.NetLiquidation, 100250.5);
            Emit(Result("external"));
        }

        // "hand action=Sell type=Market qty=1 [price=6000] [fill=6010.5] [name=Entry]": an order
        // the trader places by hand on the strategy's instrument, filled at once when fill= is given.
        private static void Hand(Dictionary<string, string> o)
        {
            var type = (OrderType)Enum.Parse(typeof(OrderType), o["type"]);
            double price = o.ContainsKey("price") ? double.Parse(o["price"], CultureInfo.InvariantCulture) : 0;
            var order = broker.Place(o.ContainsKey("name") ? o["name"] : "Entry", broker.Instrument,
                (OrderAction)Enum.Parse(typeof(OrderAction), o["action"]), type, int.Parse(o["qty"]), price);
            if (o.ContainsKey("fill"))
                broker.Fill(order, order.Quantity, double.Parse(o["fill"], CultureInfo.InvariantCulture), false);
            var r = Result("hand");
            r["order_id"] = order.OrderId;
            Emit(r);
        }

        private static void FillCommand(Dictionary<string, string> o)
        {
            // id=: the engine's client order id (the order's name); order=: NinjaTrader's order id
            var order = o.ContainsKey("order") ? broker.FindByOrderId(o["order"])
                : broker.FindByName(ClientOrderIds.Format(ulong.Parse(o["id"])));
            if (order == null) throw new ArgumentException("no order " + (o.ContainsKey("order") ? o["order"] : o["id"]));
            var e = broker.Fill(order, int.Parse(o["qty"]), double.Parse(o["price"], CultureInfo.InvariantCulture), o["first"] == "execution");
            var r = Result("filled");
            r["execution_id"] = e.ExecutionId;
            r["order_id"] = order.OrderId;
            Emit(r);
        }

        // The strategy's public properties and the attributes NinjaTrader reads from them.
        private static Dictionary<string, object> Properties()
        {
            var r = Result("properties");
            var list = new Dictionary<string, object>();
            foreach (var p in typeof(TickBridgeStrategy).GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                var attributes = new List<object>();
                foreach (var a in p.GetCustomAttributes(true)) attributes.Add(a.GetType().Name);
                list[p.Name] = attributes;
            }
            r["properties"] = list;
            return r;
        }

        private static Dictionary<string, object> Stats()
        {
            var r = Result("stats");
            var b = strategy != null ? strategy.CurrentBridge : null;
            r["open_sockets"] = Bridge.OpenSockets;
            r["running_threads"] = Bridge.RunningThreads;
            r["state"] = strategy != null ? strategy.State.ToString() : "";
            r["halts"] = broker != null ? broker.Halts : 0;
            if (strategy != null)
            {
                r["live_orders"] = strategy.LiveOrderCount;
                r["finished_orders"] = strategy.FinishedOrderCount;
                r["unsent_file"] = strategy.UnsentFile ?? "";
            }
            if (b != null)
            {
                r["engine_connected"] = b.EngineConnected;
                r["frames_sent"] = b.FramesSent;
                r["records_sent"] = b.RecordsSent;
                r["market_data_dropped"] = b.MarketDataDropped;
                r["malformed_frames"] = b.MalformedFrames;
                r["retired_session_frames"] = b.RetiredSessionFrames;
                r["encode_errors"] = b.EncodeErrors;
            }
            return r;
        }

        // Per-call cost of OnMarketData (bid, ask, last in turn), in nanoseconds.
        private static void Timing(int n, bool empty)
        {
            Strategy target = strategy;
            if (empty) target = new EmptyStrategy();
            var events = new[]
            {
                Md(MarketDataType.Bid, 6012.50, 10, 0), Md(MarketDataType.Ask, 6012.75, 12, 0), Md(MarketDataType.Last, 6012.75, 1, 0),
            };
            for (int i = 0; i < Math.Min(n, 3000); i++) target.StubMarketData(events[i % 3]);   // JIT and warm-up
            var samples = new long[n];
            long ticksPerSecond = Stopwatch.Frequency;
            var total = Stopwatch.StartNew();
            for (int i = 0; i < n; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                target.StubMarketData(events[i % 3]);
                samples[i] = Stopwatch.GetTimestamp() - t0;
            }
            total.Stop();
            // A tight loop without per-call clocks, for the mean.
            var loop = Stopwatch.StartNew();
            for (int i = 0; i < n; i++) target.StubMarketData(events[i % 3]);
            loop.Stop();
            Array.Sort(samples);
            double toNs = 1e9 / ticksPerSecond;
            var r = Result(empty ? "empty_timing" : "timing");
            r["n"] = n;
            r["mean_ns"] = loop.Elapsed.TotalMilliseconds * 1e6 / n;
            r["p50_ns"] = samples[n / 2] * toNs;
            r["p99_ns"] = samples[(int)(n * 0.99)] * toNs;
            r["max_ns"] = samples[n - 1] * toNs;
            Emit(r);
        }

        // Events per second into the bridge: n trades as fast as the callback takes them.
        private static void Flood(int n)
        {
            var e = Md(MarketDataType.Last, 6012.75, 1, 0);
            var b = strategy.CurrentBridge;
            long before = b.RecordsSent;
            long droppedBefore = b.MarketDataDropped;
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < n; i++) strategy.StubMarketData(e);
            double callSeconds = watch.Elapsed.TotalSeconds;
            // Wait for the bridge to send or drop all of them.
            while (b.RecordsSent - before + b.MarketDataDropped - droppedBefore < n && watch.ElapsedMilliseconds < 30000) Thread.Sleep(1);
            var r = Result("flood");
            r["n"] = n;
            r["call_seconds"] = callSeconds;
            r["seconds"] = watch.Elapsed.TotalSeconds;
            r["sent"] = b.RecordsSent - before;
            r["dropped"] = b.MarketDataDropped - droppedBefore;
            Emit(r);
        }

        private static void Terminate()
        {
            var watch = Stopwatch.StartNew();
            strategy.StubSetState(State.Terminated);
            var r = Result("terminated");
            r["ms"] = watch.Elapsed.TotalMilliseconds;
            r["open_sockets"] = Bridge.OpenSockets;
            r["running_threads"] = Bridge.RunningThreads;
            r["unsent_file"] = strategy.UnsentFile ?? "";
            strategy.ChartControl.Dispatcher.StubWaitIdle(10000);
            r["kill_button"] = chart.MainMenu.Count;
            Emit(r);
        }

        // Terminated while other threads are inside OnMarketData/OnOrderUpdate.
        private static void Race(int ms)
        {
            bool stop = false;
            long calls = 0;
            Exception failure = null;
            ThreadStart pump = delegate
            {
                try
                {
                    var e = Md(MarketDataType.Last, 6012.75, 1, 0);
                    var order = new Order();
                    order.Name = ClientOrderIds.Format(77); order.OrderId = "77"; order.Instrument = broker.Instrument;
                    order.OrderState = OrderState.Working;
                    while (!Volatile.Read(ref stop))
                    {
                        strategy.StubMarketData(e);
                        strategy.StubOrderUpdate(order, ErrorCode.NoError, "");
                        Interlocked.Increment(ref calls);
                    }
                }
                catch (Exception x) { failure = x; }
            };
            var threads = new[] { new Thread(pump), new Thread(pump) };
            foreach (var t in threads) t.Start();
            Thread.Sleep(ms);
            var watch = Stopwatch.StartNew();
            strategy.StubSetState(State.Terminated);
            double terminateMs = watch.Elapsed.TotalMilliseconds;
            Thread.Sleep(50);   // callbacks keep coming after Terminated
            Volatile.Write(ref stop, true);
            foreach (var t in threads) t.Join();
            var r = Result("race");
            r["terminate_ms"] = terminateMs;
            r["calls"] = Interlocked.Read(ref calls);
            r["failure"] = failure == null ? null : failure.ToString();
            r["open_sockets"] = Bridge.OpenSockets;
            r["running_threads"] = Bridge.RunningThreads;
            Emit(r);
        }

        // ---------------------------------------------------------------- golden vectors

        private static int Vectors(string directory)
        {
            foreach (var path in Directory.GetFiles(directory, "*.bin").OrderBy(p => p, StringComparer.Ordinal))
            {
                var data = File.ReadAllBytes(path);
                var r = Result("vector");
                r["file"] = Path.GetFileName(path);
                try
                {
                    var header = FrameDecoder.Validate(data, data.Length);
                    r["session_id"] = header.SessionId;
                    r["sequence"] = header.Sequence;
                    r["send_time_ns"] = header.SendTimeNs;
                    var records = new List<object>();
                    var writer = new FrameWriter(256);
                    writer.Begin();
                    int offset = Wire.FrameHeaderSize;
                    for (uint i = 0; i < header.RecordCount; i++)
                    {
                        ushort type = Wire.U16(data, offset);
                        records.Add(DecodeAndAppend(type, data, offset, writer));
                        offset += Wire.LengthOf(type);
                    }
                    writer.Finish(header.SessionId, header.Sequence, header.SendTimeNs);
                    r["records"] = records;
                    r["reencoded_equal"] = writer.ToArray().SequenceEqual(data);
                }
                catch (ProtocolException e)
                {
                    r["error_code"] = (int)e.Code;
                    r["error_offset"] = e.Offset;
                    r["error"] = e.Message;
                }
                Emit(r);
            }
            // Malformed frames given as hex on stdin, one a line: the error code and offset.
            string line;
            while ((line = Console.In.ReadLine()) != null)
            {
                line = line.Trim();
                var bytes = new byte[line.Length / 2];
                for (int i = 0; i < bytes.Length; i++) bytes[i] = byte.Parse(line.Substring(2 * i, 2), NumberStyles.HexNumber);
                var r = Result("decode");
                try
                {
                    FrameDecoder.Validate(bytes, bytes.Length);
                    r["ok"] = true;
                }
                catch (ProtocolException e)
                {
                    r["ok"] = false;
                    r["error_code"] = (int)e.Code;
                    r["error_offset"] = e.Offset;
                    r["error"] = e.Message;
                }
                Emit(r);
            }
            return 0;
        }

        // Reads the record into its struct (the codec under test), lists its public fields by
        // reflection in snake_case, and re-encodes the struct into the frame being rebuilt.
        private static object DecodeAndAppend(ushort type, byte[] data, int offset, FrameWriter writer)
        {
            string name = Wire.NameOf(type);
            Type recordType = typeof(Wire).Assembly.GetType("NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol." + name + "Record");
            MethodInfo read = recordType.GetMethod("Read", BindingFlags.Public | BindingFlags.Static);
            object record = read.Invoke(null, new object[] { data, offset });
            var fields = new Dictionary<string, object>();
            fields["type"] = name;
            foreach (FieldInfo field in recordType.GetFields(BindingFlags.Public | BindingFlags.Instance))
                fields[Snake(field.Name)] = field.GetValue(record);
            var scratch = new byte[Wire.MaxRecordLength];
            ((IRecord)record).WriteTo(scratch, 0);
            writer.AppendRaw(scratch, 0);
            return fields;
        }

        private static string Snake(string pascal)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < pascal.Length; i++)
            {
                char ch = pascal[i];
                if (char.IsUpper(ch) && i > 0) sb.Append('_');
                sb.Append(char.ToLowerInvariant(ch));
            }
            return sb.ToString();
        }
    }
}
