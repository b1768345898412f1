// A small stub of the NinjaTrader 8 API, written from NinjaTrader's public help guide
// (NinjaScript > Language Reference): the namespaces, type names, enum values and method
// signatures the TickBridge strategy uses, so that it compiles unchanged with Mono's mcs.
// Behaviour is the test host's: order methods call into NinjaTrader.Stub.Hooks.Broker,
// which plays NinjaTrader (see tests/ninjascript/host/Host.cs). Members marked "stub
// only" do not exist in NinjaTrader; the strategy never uses them.
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace NinjaTrader.Stub
{
    /// <summary>Stub only: what the host implements to play NinjaTrader's order handling.</summary>
    public interface IBroker
    {
        NinjaTrader.Cbi.Order Submit(NinjaTrader.NinjaScript.Strategies.Strategy strategy, int selectedBarsInProgress,
            NinjaTrader.Cbi.OrderAction orderAction, NinjaTrader.Cbi.OrderType orderType, int quantity, double limitPrice,
            double stopPrice, string oco, string signalName);
        void Change(NinjaTrader.NinjaScript.Strategies.Strategy strategy, NinjaTrader.Cbi.Order order, int quantity, double limitPrice, double stopPrice);
        void Cancel(NinjaTrader.NinjaScript.Strategies.Strategy strategy, NinjaTrader.Cbi.Order order);
        void AccountCancelAllOrders(NinjaTrader.Cbi.Account account, NinjaTrader.Cbi.Instrument instrument);
        void AccountFlatten(NinjaTrader.Cbi.Account account, ICollection<NinjaTrader.Cbi.Instrument> instruments);
        void AccountCancel(NinjaTrader.Cbi.Account account, IEnumerable<NinjaTrader.Cbi.Order> orders);
        void AccountChange(NinjaTrader.Cbi.Account account, IEnumerable<NinjaTrader.Cbi.Order> orders);
    }

    public static class Hooks
    {
        public static IBroker Broker;
        public static Action<string> Output = Console.Error.WriteLine;
    }
}

namespace NinjaTrader.Core
{
    public sealed class GeneralOptions
    {
        private TimeZoneInfo timeZoneInfo = TimeZoneInfo.Utc;
        public TimeZoneInfo TimeZoneInfo { get { return timeZoneInfo; } set { timeZoneInfo = value; } }
    }

    public static class Globals
    {
        private static GeneralOptions generalOptions = new GeneralOptions();
        private static string userDataDir = System.IO.Path.GetTempPath();
        public static GeneralOptions GeneralOptions { get { return generalOptions; } set { generalOptions = value; } }
        // Reflected NinjaTrader.Core.Globals.UserDataDir: Documents\NinjaTrader 8\ on Windows.
        public static string UserDataDir { get { return userDataDir; } set { userDataDir = value; } }
    }
}

namespace NinjaTrader.Cbi
{
    // Enum names and values as reflected from NinjaTrader.Core (matdev83/ninjatrader-autodocs,
    // generated-code/Core/<name>.cs); an enum may leave out names the tests do not need, never
    // change a value (tests/ninjascript/test_conformance.py checks them against nt8_api.txt).
    public enum OrderAction { Buy = 0, BuyToCover = 1, Sell = 2, SellShort = 3 }
    public enum OrderType { Limit = 0, Market = 1, MIT = 2, StopLimit = 3, StopMarket = 4, Unknown = 99 }
    // Values as reflected from NinjaTrader.Core (matdev83/ninjatrader-autodocs, NinjaTrader.Cbi.OrderState.cs).
    public enum OrderState
    {
        Accepted = 0, Cancelled = 1, Filled = 2, Initialized = 3, PartFilled = 4, CancelSubmitted = 5, ChangeSubmitted = 6,
        Submitted = 7, TriggerPending = 8, Rejected = 9, Working = 10, CancelPending = 11, ChangePending = 12,
        Suspended = 13, AcceptedByRisk = 50, Unknown = 99,
    }
    public enum TimeInForce { Day = 0, Gtc = 1, Ioc = 2, Opg = 3, Gtd = 4 }
    public enum MarketPosition { Long = 0, Short = 1, Flat = 2 }   // default(MarketPosition) is Long: positions set Flat
    // Values as reflected (NinjaTrader.Cbi.ErrorCode.cs).
    public enum ErrorCode
    {
        NoError = 0, LogOnFailed = 1, OrderRejected = 3, UnableToCancelOrder = 5, UnableToChangeOrder = 6,
        UnableToSubmitOrder = 7, UserAbort = 8, OrderRejectedByRisk = 9, LoginExpired = 10, Panic = 18,
    }
    // Reflected: NinjaTrader.Cbi.ConnectionStatus, ConnectionStatusEventArgs, Connection (a sliver).
    public enum ConnectionStatus { Disconnected = 0, Disconnecting = 1, ConnectionLost = 2, Connected = 3, Connecting = 4 }
    public class Connection
    {
        public ConnectionStatus Status { get; set; }
        public ConnectionStatus PriceStatus { get; set; }
    }
    public class ConnectionStatusEventArgs : EventArgs
    {
        public Connection Connection { get; set; }
        public ErrorCode Error { get; set; }
        public string NativeError { get; set; }
        public ConnectionStatus PreviousStatus { get; set; }
        public ConnectionStatus PreviousPriceStatus { get; set; }
        public ConnectionStatus PriceStatus { get; set; }
        public ConnectionStatus Status { get; set; }
    }
    // Reflected: NinjaTrader.Cbi.LogLevel.
    public enum LogLevel { Alert = 0, Information = 1, Warning = 2, Error = 3 }
    // Reflected: NinjaTrader.Cbi.Operation (the stub had it in NinjaTrader.Data).
    public enum Operation { Add = 0, Update = 1, Remove = 2 }
    public enum Provider { InteractiveBrokers = 8, Playback = 13, Simulator = 15, Provider1 = 20, Unknown = 9999 }
    public enum Exchange { Eurex = 11, Globex = 23, Nymex = 32, Nybot = 56, Ice = 68, Default = 9 }
    public enum AccountItem
    {
        BuyingPower = 0, CashValue = 1, ExcessInitialMargin = 4, NetLiquidation = 15, RealizedProfitLoss = 18, UnrealizedProfitLoss = 23,
    }
    public enum Currency { BritishPound = 1, Euro = 3, UsDollar = 7 }

    public class MasterInstrument
    {
        public string Name;
        public double TickSize;
        public double PointValue;
    }

    public class Instrument
    {
        public string FullName { get; set; }
        public MasterInstrument MasterInstrument { get; set; }
        public Exchange Exchange { get; set; }
    }

    public class Order
    {
        public string Name { get; set; }
        public string OrderId { get; set; }
        public Account Account { get; set; }
        public Instrument Instrument { get; set; }
        public OrderAction OrderAction { get; set; }
        public OrderType OrderType { get; set; }
        public OrderState OrderState { get; set; }
        public TimeInForce TimeInForce { get; set; }
        public int Quantity { get; set; }
        public int Filled { get; set; }
        public double AverageFillPrice { get; set; }
        public double LimitPrice { get; set; }
        public double StopPrice { get; set; }
        public DateTime Time { get; set; }
        // For Account.Change (AddOn-style changes).
        public int QuantityChanged { get; set; }
        public double LimitPriceChanged { get; set; }
        public double StopPriceChanged { get; set; }
        // Stub only: the strategy (by Name) that generated the order in an earlier run. Help guide,
        // Syncing Account Positions: at start NinjaTrader cancels "any active orders previously
        // generated by the strategy on your account" (Host.cs, SimBroker.ApplyStartBehavior).
        public string StubGeneratedBy { get; set; }
    }

    public class Execution
    {
        public string ExecutionId { get; set; }
        public string OrderId { get; set; }
        public string Name { get; set; }
        public Order Order { get; set; }
        public Instrument Instrument { get; set; }
        public Account Account { get; set; }
        public double Price { get; set; }
        public int Quantity { get; set; }
        public MarketPosition MarketPosition { get; set; }
        public DateTime Time { get; set; }
    }

    public class Position
    {
        public Instrument Instrument { get; set; }
        public Account Account { get; set; }
        public MarketPosition MarketPosition { get; set; }
        public int Quantity { get; set; }
        public double AveragePrice { get; set; }
    }

    public class AccountItemEventArgs : EventArgs
    {
        public Account Account { get; set; }
        public AccountItem AccountItem { get; set; }
        public Currency Currency { get; set; }
        public double Value { get; set; }
    }

    public class OrderEventArgs : EventArgs
    {
        public Order Order { get; set; }
        public string OrderId { get; set; }
        public double LimitPrice { get; set; }
        public double StopPrice { get; set; }
        public int Quantity { get; set; }
        public int Filled { get; set; }
        public double AverageFillPrice { get; set; }
        public OrderState OrderState { get; set; }
        public DateTime Time { get; set; }
        public ErrorCode Error { get; set; }
        public string Comment { get; set; }
    }

    public class ExecutionEventArgs : EventArgs
    {
        public Execution Execution { get; set; }
        public string ExecutionId { get; set; }
        public double Price { get; set; }
        public int Quantity { get; set; }
        public MarketPosition MarketPosition { get; set; }
        public string OrderId { get; set; }
        public DateTime Time { get; set; }
    }

    public class PositionEventArgs : EventArgs
    {
        // Help guide, Account > PositionUpdate: "The core MarketPosition e.Position is considered
        // flat when Operation.Remove is seen".
        public Operation Operation { get; set; }
        public Position Position { get; set; }
        public double AveragePrice { get; set; }
        public int Quantity { get; set; }
        public MarketPosition MarketPosition { get; set; }
    }

    public class Account
    {
        private readonly Dictionary<AccountItem, double> values = new Dictionary<AccountItem, double>();

        public string Name { get; set; }
        public Provider Provider { get; set; }
        // Reflected Account.Connection: the connection the account is on (its Status, PriceStatus).
        public Connection Connection { get; set; }
        public Collection<Order> Orders { get; private set; }
        public Collection<Position> Positions { get; private set; }
        public Collection<Execution> Executions { get; private set; }
        public event EventHandler<AccountItemEventArgs> AccountItemUpdate;
        public event EventHandler<OrderEventArgs> OrderUpdate;
        public event EventHandler<ExecutionEventArgs> ExecutionUpdate;
        public event EventHandler<PositionEventArgs> PositionUpdate;

        public Account()
        {
            Orders = new Collection<Order>();
            Positions = new Collection<Position>();
            Executions = new Collection<Execution>();
        }

        public double Get(AccountItem accountItem, Currency currency)
        {
            double value;
            lock (values) return values.TryGetValue(accountItem, out value) ? value : 0.0;
        }

        public void CancelAllOrders(Instrument instrument) { NinjaTrader.Stub.Hooks.Broker.AccountCancelAllOrders(this, instrument); }
        public void Flatten(ICollection<Instrument> instruments) { NinjaTrader.Stub.Hooks.Broker.AccountFlatten(this, instruments); }
        public void Cancel(IEnumerable<Order> orders) { NinjaTrader.Stub.Hooks.Broker.AccountCancel(this, orders); }
        public void Change(IEnumerable<Order> orders) { NinjaTrader.Stub.Hooks.Broker.AccountChange(this, orders); }

        /// <summary>Stub only: NinjaTrader raising the account's order event (every order of the account).</summary>
        public void StubOrderUpdate(Order order, ErrorCode error, string comment)
        {
            var handler = OrderUpdate;
            if (handler == null) return;
            var e = new OrderEventArgs();
            e.Order = order; e.OrderId = order.OrderId; e.LimitPrice = order.LimitPrice; e.StopPrice = order.StopPrice;
            e.Quantity = order.Quantity; e.Filled = order.Filled; e.AverageFillPrice = order.AverageFillPrice;
            e.OrderState = order.OrderState; e.Time = order.Time; e.Error = error; e.Comment = comment;
            handler(this, e);
        }

        /// <summary>Stub only: the account's execution event.</summary>
        public void StubExecutionUpdate(Execution execution)
        {
            var handler = ExecutionUpdate;
            if (handler == null) return;
            var e = new ExecutionEventArgs();
            e.Execution = execution; e.ExecutionId = execution.ExecutionId; e.Price = execution.Price;
            e.Quantity = execution.Quantity; e.MarketPosition = execution.MarketPosition; e.OrderId = execution.OrderId;
            e.Time = execution.Time;
            handler(this, e);
        }

        /// <summary>Stub only: the account's position event.</summary>
        public void StubPositionUpdate(Position position)
        {
            StubPositionUpdate(position, Operation.Update, position.MarketPosition, position.Quantity, position.AveragePrice);
        }

        /// <summary>Stub only: the account's position event with its operation. A position that went
        /// flat is an Operation.Remove carrying the values of the position that was closed.</summary>
        public void StubPositionUpdate(Position position, Operation operation, MarketPosition marketPosition, int quantity, double averagePrice)
        {
            var handler = PositionUpdate;
            if (handler == null) return;
            var e = new PositionEventArgs();
            e.Operation = operation;
            e.Position = position; e.AveragePrice = averagePrice; e.Quantity = quantity;
            e.MarketPosition = marketPosition;
            handler(this, e);
        }

        /// <summary>Stub only: sets a value and raises AccountItemUpdate.</summary>
        public void StubSetValue(AccountItem item, double value)
        {
            lock (values) values[item] = value;
            var handler = AccountItemUpdate;
            if (handler != null)
            {
                var e = new AccountItemEventArgs();
                e.Account = this; e.AccountItem = item; e.Currency = Currency.UsDollar; e.Value = value;
                handler(this, e);
            }
        }
    }
}

namespace NinjaTrader.Data
{
    public enum MarketDataType
    {
        Ask = 0, Bid = 1, Last = 2, DailyHigh = 3, DailyLow = 4, DailyVolume = 5, LastClose = 6, Opening = 7, OpenInterest = 8,
        Settlement = 9, Unknown = 10,
    }

    public class MarketDataEventArgs : EventArgs
    {
        public NinjaTrader.Cbi.Instrument Instrument { get; set; }
        public MarketDataType MarketDataType { get; set; }
        public double Price { get; set; }
        public long Volume { get; set; }
        public double Bid { get; set; }
        public double Ask { get; set; }
        public DateTime Time { get; set; }
        public bool IsReset { get; set; }
    }

    public class MarketDepthEventArgs : EventArgs
    {
        public NinjaTrader.Cbi.Instrument Instrument { get; set; }
        public MarketDataType MarketDataType { get; set; }
        public string MarketMaker { get; set; }
        public NinjaTrader.Cbi.Operation Operation { get; set; }
        public int Position { get; set; }
        public double Price { get; set; }
        public long Volume { get; set; }
        public DateTime Time { get; set; }
        public bool IsReset { get; set; }
    }
}

// Minimal WPF (Mono has no PresentationFramework): only what the kill button uses.
namespace System.Windows
{
    public class DependencyObject { }
    public class UIElement : DependencyObject { }
    public class FrameworkElement : UIElement
    {
        public DependencyObject Parent { get; set; }
        public object ToolTip { get; set; }
    }
    public class RoutedEventArgs : EventArgs { }
    public delegate void RoutedEventHandler(object sender, RoutedEventArgs e);
    public class Window : FrameworkElement
    {
        public static Window GetWindow(DependencyObject dependencyObject)
        {
            var element = dependencyObject as FrameworkElement;
            while (element != null)
            {
                var window = element as Window;
                if (window != null) return window;
                element = element.Parent as FrameworkElement;
            }
            return null;
        }
    }
}

namespace System.Windows.Controls
{
    public class ContentControl : System.Windows.FrameworkElement
    {
        public object Content { get; set; }
    }
    public class Button : ContentControl
    {
        public event System.Windows.RoutedEventHandler Click;
        /// <summary>Stub only: what a mouse click does.</summary>
        public void StubClick()
        {
            var handler = Click;
            if (handler != null) handler(this, new System.Windows.RoutedEventArgs());
        }
    }
}

namespace System.Windows.Threading
{
    public class DispatcherOperation { }

    /// <summary>WPF's Dispatcher: InvokeAsync queues the callback to the UI thread and returns at
    /// once. Help guide, Multi-Threading Consideration for NinjaScript: "you should always make
    /// sure to use Dispatcher.InvokeAsync() to ensure your action is done asynchronously to any
    /// internal NinjaTrader actions". The stub's UI thread is its own.</summary>
    public class Dispatcher
    {
        private readonly System.Collections.Generic.Queue<Action> queue = new System.Collections.Generic.Queue<Action>();
        private int pending;

        public Dispatcher()
        {
            var thread = new System.Threading.Thread(Run);
            thread.IsBackground = true;
            thread.Name = "UI";
            thread.Start();
        }

        public DispatcherOperation InvokeAsync(Action callback)
        {
            lock (queue)
            {
                queue.Enqueue(callback);
                pending++;
                System.Threading.Monitor.PulseAll(queue);
            }
            return new DispatcherOperation();
        }

        private void Run()
        {
            while (true)
            {
                Action next;
                lock (queue)
                {
                    while (queue.Count == 0) System.Threading.Monitor.Wait(queue);
                    next = queue.Dequeue();
                }
                try { next(); }
                catch (Exception e) { NinjaTrader.Stub.Hooks.Output("UI thread: " + e); }
                lock (queue)
                {
                    pending--;
                    System.Threading.Monitor.PulseAll(queue);
                }
            }
        }

        /// <summary>Stub only: waits until every queued callback has run.</summary>
        public bool StubWaitIdle(int timeoutMs)
        {
            var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            lock (queue)
            {
                while (pending > 0)
                {
                    var left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero) return false;
                    System.Threading.Monitor.Wait(queue, left);
                }
                return true;
            }
        }
    }
}

namespace NinjaTrader.Gui.Chart
{
    public class ChartControl : System.Windows.FrameworkElement
    {
        public System.Windows.Threading.Dispatcher Dispatcher { get; set; }
    }

    public class Chart : System.Windows.Window
    {
        public Chart() { MainMenu = new ObservableCollection<object>(); }
        public ObservableCollection<object> MainMenu { get; private set; }
    }
}

namespace NinjaTrader.NinjaScript
{
    public enum State
    {
        Undefined = 0, SetDefaults = 1, Configure = 2, Active = 3, DataLoaded = 4, Historical = 5, Transition = 6, Realtime = 7,
        Terminated = 8, Finalized = 9,
    }
    public enum Calculate { OnBarClose = 0, OnEachTick = 1, OnPriceChange = 2 }
    public enum RealtimeErrorHandling { IgnoreAllErrors = 0, StopCancelClose = 1, StopCancelCloseIgnoreRejects = 2 }
    // Reflected: NinjaTrader.NinjaScript.ConnectionLossHandling. Help guide, Strategy >
    // ConnectionLossHandling: "Default value is set to ConnectionLossHandling.Recalculate".
    public enum ConnectionLossHandling { KeepRunning = 0, Recalculate = 1, StopStrategy = 2 }
    // Reflected: NinjaTrader.NinjaScript.Category (StrategyBase.Category: where the strategy runs).
    public enum Category { Atm = 0, Backtest = 1, NinjaScript = 2, Optimize = 3, WalkForward = 4, WalkForwardAnchored = 5, MultiObjective = 6 }
    // Reflected: NinjaTrader.NinjaScript.StartBehavior. Help guide, StartBehavior: "Default value is
    // set to StartBehavior.WaitUntilFlat". What each does at start: Host.cs, SimBroker.ApplyStartBehavior.
    public enum StartBehavior
    {
        AdoptAccountPosition = 0, ImmediatelySubmit = 1, ImmediatelySubmitSynchronizeAccount = 2, WaitUntilFlat = 3,
        WaitUntilFlatSynchronizeAccount = 4,
    }

    [AttributeUsage(AttributeTargets.Property)]
    public sealed class NinjaScriptPropertyAttribute : Attribute { }

    public abstract class NinjaScriptBase
    {
        public string Name { get; set; }
        public string Description { get; set; }
        public State State { get; private set; }
        public Calculate Calculate { get; set; }
        // Help guide, Common > Analytical > TickSize: "The minimum fluctuation value which is always
        // a value of 1-tick for the corresponding master instrument". Set with the instrument here.
        public double TickSize { get; protected set; }

        // Stub only: NinjaTrader serializes a script's events; TriggerCustomEvent takes the same lock.
        public readonly object StubEventLock = new object();

        protected virtual void OnStateChange() { }
        // Help guide, Common > OnConnectionStatusUpdate(): "called for every change in connection status".
        protected virtual void OnConnectionStatusUpdate(NinjaTrader.Cbi.ConnectionStatusEventArgs connectionStatusUpdate) { }

        /// <summary>Stub only: NinjaTrader raising OnConnectionStatusUpdate (an event: under the script's lock).</summary>
        public void StubConnectionStatus(NinjaTrader.Cbi.ConnectionStatusEventArgs e)
        {
            lock (StubEventLock) OnConnectionStatusUpdate(e);
        }

        /// <summary>Stub only: what NinjaTrader does to move a script to its next state. A
        /// script that terminated itself (SetState) moves no further.</summary>
        public void StubSetState(State state)
        {
            lock (StubEventLock)
            {
                if (State == State.Terminated && state != State.Finalized) return;
                State = state;
                OnStateChange();
            }
        }

        // Help guide, Common > OnStateChange() > SetState(): "Attempting to set a State earlier than
        // the current State will be ignored"; "Setting State to State.Terminated is meant as a way to
        // abort the strategy as it is running".
        public void SetState(State state)
        {
            lock (StubEventLock)
            {
                if (state <= State) return;
                State = state;
                OnStateChange();
            }
        }

        // Help guide, Common > Log(): to the Control Center's Log tab.
        public void Log(string message, NinjaTrader.Cbi.LogLevel logLevel)
        {
            NinjaTrader.Stub.Hooks.Output("Log(" + logLevel + "): " + message);
        }

        public void Print(object value)
        {
            NinjaTrader.Stub.Hooks.Output(value == null ? "" : value.ToString());
        }

        // Stub only: the next StubTriggerSkips calls, or every call while StubTriggerNever, return
        // without running the delegate (the help guide's "may be unavailable in some circumstances").
        public int StubTriggerSkips;
        public bool StubTriggerNever;
        public int StubTriggerSkipped;

        public void TriggerCustomEvent(Action<object> customEvent, object state)
        {
            lock (StubEventLock)
            {
                // Help guide, TriggerCustomEvent(): "The TriggerCustomEvent() method does NOT execute
                // before State.DataLoaded or during or after State.Terminated. In effect, attempting to
                // trigger custom events may be unavailable in some circumstances". It has no return
                // value and raises nothing: the delegate just does not run.
                if (State < State.DataLoaded || State >= State.Terminated || StubTriggerNever || StubTriggerSkips > 0)
                {
                    if (StubTriggerSkips > 0) StubTriggerSkips--;
                    StubTriggerSkipped++;
                    return;
                }
                customEvent(state);
            }
        }
    }
}

namespace NinjaTrader.NinjaScript.Strategies
{
    using NinjaTrader.Cbi;
    using NinjaTrader.Data;

    public class Strategy : NinjaTrader.NinjaScript.NinjaScriptBase
    {
        public Strategy()
        {
            Position = new Position();
            Position.MarketPosition = MarketPosition.Flat;
            ConnectionLossHandling = NinjaTrader.NinjaScript.ConnectionLossHandling.Recalculate;
            DisconnectDelaySeconds = 10;
            StartBehavior = NinjaTrader.NinjaScript.StartBehavior.WaitUntilFlat;
        }

        public NinjaTrader.NinjaScript.StartBehavior StartBehavior { get; set; }
        // Help guide, IsAdoptAccountPositionAware: AdoptAccountPosition needs it true.
        public bool IsAdoptAccountPositionAware { get; set; }

        public bool IsUnmanaged { get; set; }
        public bool IsExitOnSessionCloseStrategy { get; set; }
        // Help guide, IgnoreOverfill: "Default is set to false". The host halts a strategy on an
        // overfill unless this is true (SimBroker.Fill, tests/ninjascript/host/Host.cs).
        public bool IgnoreOverfill { get; set; }
        // Reflected StrategyBase.Category: NinjaScript on a chart or the Strategies tab; Backtest,
        // Optimize, WalkForward.. in the Strategy Analyzer.
        public NinjaTrader.NinjaScript.Category Category { get; set; }
        public NinjaTrader.NinjaScript.ConnectionLossHandling ConnectionLossHandling { get; set; }
        public int DisconnectDelaySeconds { get; set; }
        public NinjaTrader.NinjaScript.RealtimeErrorHandling RealtimeErrorHandling { get; set; }
        public TimeInForce TimeInForce { get; set; }
        public Account Account { get; set; }
        private Instrument instrument;
        public Instrument Instrument
        {
            get { return instrument; }
            set { instrument = value; TickSize = value != null && value.MasterInstrument != null ? value.MasterInstrument.TickSize : 0; }
        }
        public Position Position { get; set; }
        public NinjaTrader.Gui.Chart.ChartControl ChartControl { get; set; }
        public int BarsInProgress { get; set; }

        protected virtual void OnBarUpdate() { }
        protected virtual void OnMarketData(MarketDataEventArgs marketDataUpdate) { }
        protected virtual void OnMarketDepth(MarketDepthEventArgs marketDepthUpdate) { }
        protected virtual void OnOrderUpdate(Order order, double limitPrice, double stopPrice, int quantity, int filled,
            double averageFillPrice, OrderState orderState, DateTime time, ErrorCode error, string comment) { }
        protected virtual void OnExecutionUpdate(Execution execution, string executionId, double price, int quantity,
            MarketPosition marketPosition, string orderId, DateTime time) { }
        protected virtual void OnPositionUpdate(Position position, double averagePrice, int quantity, MarketPosition marketPosition) { }

        public Order SubmitOrderUnmanaged(int selectedBarsInProgress, OrderAction orderAction, OrderType orderType, int quantity,
            double limitPrice, double stopPrice, string oco, string signalName)
        {
            return NinjaTrader.Stub.Hooks.Broker.Submit(this, selectedBarsInProgress, orderAction, orderType, quantity, limitPrice,
                stopPrice, oco, signalName);
        }

        public void ChangeOrder(Order order, int quantity, double limitPrice, double stopPrice)
        {
            NinjaTrader.Stub.Hooks.Broker.Change(this, order, quantity, limitPrice, stopPrice);
        }

        public void CancelOrder(Order order)
        {
            NinjaTrader.Stub.Hooks.Broker.Cancel(this, order);
        }

        // Stub only: NinjaTrader calling the script's event methods.
        public void StubMarketData(MarketDataEventArgs e) { OnMarketData(e); }
        public void StubMarketDepth(MarketDepthEventArgs e) { OnMarketDepth(e); }
        public void StubOrderUpdate(Order order, ErrorCode error, string comment)
        {
            OnOrderUpdate(order, order.LimitPrice, order.StopPrice, order.Quantity, order.Filled, order.AverageFillPrice,
                order.OrderState, order.Time, error, comment);
        }
        public void StubExecutionUpdate(Execution e)
        {
            OnExecutionUpdate(e, e.ExecutionId, e.Price, e.Quantity, e.MarketPosition, e.OrderId, e.Time);
        }
        public void StubPositionUpdate(Position p)
        {
            OnPositionUpdate(p, p.AveragePrice, p.Quantity, p.MarketPosition);
        }
    }
}

namespace NinjaTrader.NinjaScript.DrawingTools
{
    // Reflected: NinjaTrader.NinjaScript.DrawingTools.TextPosition.
    public enum TextPosition { BottomLeft = 0, BottomRight = 1, Center = 2, TopLeft = 3, TopRight = 4 }

    // Help guide, Draw.TextFixed(): "A TextFixed object that represents the draw object".
    public class TextFixed
    {
        public string Tag { get; set; }
        public string DisplayText { get; set; }
        public TextPosition TextPosition { get; set; }
    }

    public static partial class Draw
    {
        // Stub only: what is drawn, by owner and tag ("each time this tag is used, the same draw
        // object is modified").
        public static readonly Dictionary<NinjaTrader.NinjaScript.NinjaScriptBase, Dictionary<string, TextFixed>> StubDrawn =
            new Dictionary<NinjaTrader.NinjaScript.NinjaScriptBase, Dictionary<string, TextFixed>>();

        // Help guide, Draw.TextFixed(NinjaScriptBase owner, string tag, string text, TextPosition textPosition).
        public static TextFixed TextFixed(NinjaTrader.NinjaScript.NinjaScriptBase owner, string tag, string text, TextPosition textPosition)
        {
            lock (StubDrawn)
            {
                Dictionary<string, TextFixed> tags;
                if (!StubDrawn.TryGetValue(owner, out tags)) StubDrawn[owner] = tags = new Dictionary<string, TextFixed>();
                TextFixed drawn;
                if (!tags.TryGetValue(tag, out drawn)) tags[tag] = drawn = new TextFixed();
                drawn.Tag = tag;
                drawn.DisplayText = text;
                drawn.TextPosition = textPosition;
                return drawn;
            }
        }
    }
}
