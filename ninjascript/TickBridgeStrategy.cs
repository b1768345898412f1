// TickBridge: forwards this chart's market data and the account's order, fill, position
// and account events to the tickbridge engine over ZeroMQ, and executes the engine's
// commands. Unmanaged order handling. See ninjascript/README.md.
//
// Threading (DESIGN.md): every NinjaTrader callback only encodes a record into the
// bridge's lock-free queue and returns; the bridge thread owns the sockets; commands come
// back through TriggerCustomEvent, so orders are only ever touched on NinjaTrader's terms.
//
// Written to the C# subset both NinjaTrader 8's compiler and Mono's mcs accept: C# 5
// (the tests compile it with mcs -langversion:5): no local functions, no type patterns in
// switch, no digit separators, no string interpolation.
#region Using declarations
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Threading;
using System.Windows;
using System.Windows.Controls;
using System.Xml.Serialization;
using NinjaTrader.Cbi;
using NinjaTrader.Data;
using NinjaTrader.Gui.Chart;
using NinjaTrader.NinjaScript.AddOns.TickBridge;
using NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol;
using NinjaTrader.NinjaScript.DrawingTools;
#endregion

namespace NinjaTrader.NinjaScript.Strategies
{
    public class TickBridgeStrategy : Strategy, IBridgeHost
    {
        // The one instrument this strategy instance trades, as numbered on the wire.
        public const uint WireInstrumentId = 1;

        private Bridge bridge;                      // null until DataLoaded and after Terminated
        private volatile bool terminating;
        private int drainScheduled;                 // 1 while a TriggerCustomEvent for commands is pending
        private int cancelScheduled;
        // Commands NinjaTrader has not run within this are answered with a reject (PlatformBusy):
        // the engine always gets its answer, even when TriggerCustomEvent never runs.
        public const int CommandDeadlineMs = 2000;
        private const int DrainRetryMs = 50;
        private readonly object commandTakeLock = new object();
        private readonly object killLock = new object();
        private Timer drainRetry;                   // retries a drain TriggerCustomEvent did not run
        // Kill button: the first click arms it (and names the account), a second within this confirms.
        private const int KillConfirmMs = 5000;
        private int killArmedAtTick;
        private bool killArmed;
        private Timer killDisarm;
        // The account's order connection as OnConnectionStatusUpdate last reported it.
        private volatile bool orderConnectionUp = true;
        private volatile string orderConnectionStatus = "Connected";
        private TimeZoneInfo platformZone = TimeZoneInfo.Local;
        private ZoneOffset zoneOffset;
        private Button killButton;
        private Chart chartWindow;

        // Orders by the engine's client order id, parsed from the order name. Written from
        // OnOrderUpdate (which NinjaTrader calls from inside SubmitOrderUnmanaged, before it
        // returns) and from command execution: matched by name, never by the returned object.
        private readonly ConcurrentDictionary<ulong, Order> ordersByClientId = new ConcurrentDictionary<ulong, Order>();
        // Client order ids this instance submitted: NinjaTrader lets a strategy ChangeOrder/
        // CancelOrder only its own orders; others (e.g. from before a restart) go through the Account.
        private readonly ConcurrentDictionary<ulong, bool> submittedHere = new ConcurrentDictionary<ulong, bool>();
        // The request id of the last Cancel / Replace acknowledged per client order id: NinjaTrader
        // answers a failed one later, with an order update carrying UnableToCancelOrder /
        // UnableToChangeOrder; the engine gets that as a CommandReject of the request.
        private readonly ConcurrentDictionary<ulong, ulong> cancelRequests = new ConcurrentDictionary<ulong, ulong>();
        private readonly ConcurrentDictionary<ulong, ulong> changeRequests = new ConcurrentDictionary<ulong, ulong>();
        // ordersByClientId and submittedHere hold live orders only: an order in a final state moves
        // here, and the oldest finished ones are forgotten past FinishedOrdersKept (bounded memory
        // over a long session). Kept so that a retried Submit of a finished order still answers
        // with its state (never a second order), and a late event of it (an overfill) is still
        // reported by this instance.
        private readonly ConcurrentDictionary<ulong, FinishedOrder> finishedOrders = new ConcurrentDictionary<ulong, FinishedOrder>();
        private readonly ConcurrentQueue<ulong> finishedSequence = new ConcurrentQueue<ulong>();
        // The closing orders of this strategy's Account.Flatten calls (a Flatten command, a kill
        // with flatten), reported with platform-made ids (TickBridge/FlattenOrders.cs).
        private readonly FlattenOrders flattenOrders = new FlattenOrders();
        // The engine's TradingState for this account as last received ("" before any), shown on the chart.
        private volatile string tradingStateText = "";
        private int statusDrawScheduled;

        // Best bid/ask as last seen (written by the market data thread only).
        private double bidPrice, askPrice;
        private long bidSize, askSize;
        private double lastPrice;

        // Set by a TriggerCustomEvent delegate that did run.
        private sealed class RanFlag
        {
            public bool Value;
        }

        private sealed class FinishedOrder
        {
            public Order Order;
            public bool SubmittedHere;
        }

        private sealed class ZoneOffset
        {
            public long FromTicks, ToTicks, OffsetTicks;
        }

        #region Properties
        [NinjaScriptProperty]
        [Display(Name = "Engine endpoint", Description = "ZeroMQ endpoint of the tickbridge engine's ROUTER", Order = 1, GroupName = "TickBridge")]
        public string EngineEndpoint { get; set; }

        [NinjaScriptProperty]
        [Display(Name = "Kill endpoint", Description = "Endpoint this strategy binds for the kill CLI (empty: none)", Order = 2, GroupName = "TickBridge")]
        public string KillEndpoint { get; set; }

        // Not a [NinjaScriptProperty] (those are shown in the strategy's label on the chart), masked
        // in the grid, and [XmlIgnore]: never saved in clear text in the workspace. Typed again
        // after a restart, or read from KillSecretFile.
        [PasswordPropertyText(true)]
        [XmlIgnore]
        [Display(Name = "Kill secret", Description = "Shared secret a Kill must carry (up to 32 bytes); not saved with the workspace: prefer the file", Order = 3, GroupName = "TickBridge")]
        public string KillSecret { get; set; }

        [Display(Name = "Kill secret file", Description = "A file whose first line is the kill secret (overrides Kill secret); e.g. Documents\\NinjaTrader 8\\tickbridge\\kill.secret", Order = 11, GroupName = "TickBridge")]
        public string KillSecretFile { get; set; }

        [NinjaScriptProperty]
        [Range(50, 60000)]
        [Display(Name = "Heartbeat interval (ms)", Order = 4, GroupName = "TickBridge")]
        public int HeartbeatIntervalMs { get; set; }

        [NinjaScriptProperty]
        [Range(1, 100)]
        [Display(Name = "Engine silence (heartbeats)", Description = "Intervals without a frame from the engine before the link counts as down", Order = 5, GroupName = "TickBridge")]
        public int SilenceHeartbeats { get; set; }

        [NinjaScriptProperty]
        [Display(Name = "Cancel on disconnect", Description = "Cancel this strategy's working engine orders when the engine goes silent", Order = 6, GroupName = "TickBridge")]
        public bool CancelOnDisconnect { get; set; }

        [NinjaScriptProperty]
        [Display(Name = "Forward market depth", Order = 7, GroupName = "TickBridge")]
        public bool ForwardDepth { get; set; }

        [NinjaScriptProperty]
        [Display(Name = "Kill button on chart", Order = 8, GroupName = "TickBridge")]
        public bool ShowKillButton { get; set; }

        // ZeroMQ CURVE (docs/security.md, ninjascript/README.md): both empty, a plain loopback link.
        [NinjaScriptProperty]
        [Display(Name = "CURVE engine public key", Description = "The engine's public key: z85 text (40 characters) or the path of its NAME.key file (empty: no CURVE)", Order = 9, GroupName = "TickBridge")]
        public string CurveServerKey { get; set; }

        [NinjaScriptProperty]
        [Display(Name = "CURVE shim key file", Description = "This strategy's key pair: the path of its NAME.key_secret file from tickbridge keys create (or its z85 secret key)", Order = 10, GroupName = "TickBridge")]
        public string CurveClientKey { get; set; }

        [Display(Name = "libzmq folder", Description = "Folder holding libzmq.dll (64-bit, 4.3.x) and the DLLs it needs; empty: Documents\\NinjaTrader 8\\tickbridge", Order = 12, GroupName = "TickBridge")]
        public string NativeLibraryFolder { get; set; }

        [Browsable(false)]
        [XmlIgnore]
        public Bridge CurrentBridge { get { return bridge; } }

        // Diagnostics (tests): live orders known by client order id, and finished ones remembered.
        [Browsable(false)]
        [XmlIgnore]
        public int LiveOrderCount { get { return ordersByClientId.Count + submittedHere.Count; } }
        [Browsable(false)]
        [XmlIgnore]
        public int FinishedOrderCount { get { return finishedOrders.Count; } }
        // How many finished orders are remembered (oldest forgotten first); tests lower it.
        [Browsable(false)]
        [XmlIgnore]
        public int FinishedOrdersKept { get; set; }
        // Where the frames the engine never acknowledged were written at Terminated (null: none).
        [Browsable(false)]
        [XmlIgnore]
        public string UnsentFile { get; private set; }
        #endregion

        protected override void OnStateChange()
        {
            if (State == State.SetDefaults)
            {
                // Properties only: NinjaTrader creates instances in SetDefaults just to fill
                // its property grids; no socket, no thread here.
                Description = "Bridges NinjaTrader to the tickbridge execution engine over ZeroMQ";
                Name = "TickBridge";
                Calculate = Calculate.OnEachTick;
                IsUnmanaged = true;
                IsExitOnSessionCloseStrategy = false;
                // A rejected order must not stop the strategy (NinjaTrader's default): the
                // engine is told about the reject and decides.
                RealtimeErrorHandling = RealtimeErrorHandling.IgnoreAllErrors;
                // Help guide, Unmanaged Approach > Overfills: "By default, NinjaTrader will protect
                // against overfills even though you are using the Unmanaged approach by halting the
                // strategy". IgnoreOverfill: "An overfill is categorized as when an order returns a
                // "Filled" or "PartFilled" state after the order was already marked for cancellation"
                // and "This property should ONLY bet set from the OnStateChange() method during
                // State.SetDefaults or State.Configure". For a bridge every cancel, replace and
                // cancel-on-disconnect races the exchange: an overfill is routine, so it is not a
                // halt here but a fill like any other, forwarded to the engine (OnExecutionUpdate),
                // whose order state machine accepts a fill after a cancel request.
                IgnoreOverfill = true;
                // Help guide, Strategy > ConnectionLossHandling (default Recalculate): "If data feed
                // disconnects for longer than the time specified in DisconnectDelaySeconds, the
                // strategy is stopped" and "If the order feed disconnects and the strategy places an
                // order action while disconnected, the strategy is stopped"; KeepRunning "Keeps the
                // strategy running. When the connection is reestablished the strategy will resume as
                // if no disconnect occurred". A stop would restart the bridge as a new session and
                // drop the frames the engine has not acknowledged; the engine, not NinjaTrader,
                // decides what to do about an outage. So KeepRunning, and no order action while the
                // order connection is down (OnConnectionStatusUpdate, OrderConnectionUp).
                ConnectionLossHandling = ConnectionLossHandling.KeepRunning;
                // Help guide, StartBehavior: "Default value is set to StartBehavior.WaitUntilFlat";
                // Syncing Account Positions: with every start behaviour NinjaTrader first cancels "any
                // active orders previously generated by the strategy on your account" (this bridge has no
                // historical orders to match them), and the SynchronizeAccount variants then submit "a
                // market order(s) to reconcile the Account Position" to the strategy's (always flat
                // here: it trades in realtime only). WaitUntilFlat, explicitly: a flat strategy
                // position trades live at once, and nothing is submitted behind the engine's back.
                // A SynchronizeAccount variant or AdoptAccountPosition is refused at start (StartBridge).
                StartBehavior = StartBehavior.WaitUntilFlat;
                FinishedOrdersKept = 10000;
                EngineEndpoint = "tcp://127.0.0.1:5555";
                KillEndpoint = "tcp://127.0.0.1:5556";
                KillSecret = "";
                KillSecretFile = "";
                NativeLibraryFolder = "";
                HeartbeatIntervalMs = 1000;
                SilenceHeartbeats = 3;
                CancelOnDisconnect = true;
                ForwardDepth = false;
                ShowKillButton = true;
                CurveServerKey = "";
                CurveClientKey = "";
            }
            else if (State == State.DataLoaded)
            {
                StartBridge();
            }
            else if (State == State.Historical)
            {
                AddKillButton();
            }
            else if (State == State.Realtime)
            {
                AdoptAccountOrders();
                PublishPosition(Wire.UtcNowNs());
                PublishAccount();
            }
            else if (State == State.Terminated)
            {
                // Terminated can run while NinjaTrader still delivers other callbacks on other
                // threads, and also for instances that never reached DataLoaded.
                terminating = true;
                StopBridge();
                RemoveKillButton();
            }
        }

        // ------------------------------------------------------------------ lifecycle

        // Reflected StrategyBase.Category: Backtest, Optimize, WalkForward, WalkForwardAnchored and
        // MultiObjective are the Strategy Analyzer's runs (help guide, Operations > Strategy
        // Analyzer: backtest, optimize, walk forward, multi-objective). Those never reach
        // State.Realtime; the bridge must not connect to the engine or bind the kill port there.
        private bool InStrategyAnalyzer()
        {
            return Category == Category.Backtest || Category == Category.Optimize || Category == Category.WalkForward
                || Category == Category.WalkForwardAnchored || Category == Category.MultiObjective;
        }

        private string ReadKillSecret()
        {
            if (string.IsNullOrEmpty(KillSecretFile)) return KillSecret ?? "";
            try
            {
                string[] lines = System.IO.File.ReadAllLines(KillSecretFile);
                return lines.Length > 0 ? lines[0].Trim() : "";
            }
            catch (Exception e)
            {
                Print("TickBridge: kill secret file '" + KillSecretFile + "' not read (" + e.GetType().Name + ": " + e.Message
                    + "): every Kill will be refused");
                return "";
            }
        }

        // Where libzmq is loaded from: the setting, else Documents\NinjaTrader 8\tickbridge on
        // Windows (Globals.UserDataDir is Documents\NinjaTrader 8\), else the system's (Mono).
        private string LibraryFolder()
        {
            if (!string.IsNullOrEmpty(NativeLibraryFolder)) return NativeLibraryFolder;
            if (!ZmqNative.IsWindows) return "";
            return System.IO.Path.Combine(NinjaTrader.Core.Globals.UserDataDir, "tickbridge");
        }

        private void StartBridge()
        {
            if (InStrategyAnalyzer())
            {
                Print("TickBridge: not started: running in the Strategy Analyzer (Category " + Category
                    + "); the bridge runs on a chart or the Strategies tab only");
                return;
            }
            if (StartBehavior != StartBehavior.WaitUntilFlat && StartBehavior != StartBehavior.ImmediatelySubmit)
            {
                // See SetDefaults: these would flatten or change the account's position at start
                // (a market order the engine never asked for), or adopt it as the strategy's own.
                RefuseToRun("TickBridge: not started, the strategy stops: start behaviour " + StartBehavior
                    + " would submit orders to the account outside the engine; choose Wait until flat");
                return;
            }
            string missing = ZmqNative.Load(LibraryFolder());
            if (missing != null)
            {
                RefuseToRun("TickBridge: not started, the strategy stops: " + missing);
                return;
            }
            try
            {
                platformZone = NinjaTrader.Core.Globals.GeneralOptions.TimeZoneInfo ?? TimeZoneInfo.Local;
            }
            catch (Exception)
            {
                platformZone = TimeZoneInfo.Local;
            }
            var settings = new BridgeSettings();
            settings.EngineEndpoint = EngineEndpoint;
            settings.KillEndpoint = KillEndpoint;
            settings.KillSecret = ReadKillSecret();
            settings.HeartbeatIntervalMs = HeartbeatIntervalMs;
            settings.SilenceHeartbeats = SilenceHeartbeats;
            settings.CancelOnDisconnect = CancelOnDisconnect;
            settings.CurveServerKey = CurveServerKey;
            settings.CurveClientKey = CurveClientKey;

            var hello = new HelloRecord();
            hello.Platform = (byte)WirePlatform.NinjaTrader;
            hello.Simulated = (byte)(IsSimulatedAccount(Account) ? 1 : 0);
            hello.HeartbeatIntervalMs = (uint)HeartbeatIntervalMs;
            hello.PlatformVersion = "NinjaTrader " + typeof(Account).Assembly.GetName().Version;
            hello.Account = Account.Name;

            var definition = new InstrumentDefinitionRecord();
            definition.InstrumentId = WireInstrumentId;
            definition.TickSize = Instrument.MasterInstrument.TickSize;
            definition.PointValue = Instrument.MasterInstrument.PointValue;
            definition.Symbol = Instrument.FullName;
            definition.Exchange = Instrument.Exchange.ToString();

            try
            {
                var b = new Bridge(settings, this, hello, new[] { definition });
                // The connection as it is now (OnConnectionStatusUpdate is called on changes only,
                // help guide: "called for every change in connection status"): sent after every Hello.
                Connection connection = Account.Connection;
                if (connection != null)
                {
                    orderConnectionUp = connection.Status == ConnectionStatus.Connected;
                    orderConnectionStatus = connection.Status.ToString();
                    b.SetPlatformStatus(PlatformStatusOf(connection.Status, connection.PriceStatus), false);
                }
                // Engine orders already on the account, known before NinjaTrader's start behaviour
                // cancels those it generated earlier: their cancellation is reported to the engine.
                AdoptAccountOrders();
                Account.AccountItemUpdate += OnAccountItemUpdate;
                Account.OrderUpdate += OnAccountOrderUpdate;
                Account.ExecutionUpdate += OnAccountExecutionUpdate;
                Account.PositionUpdate += OnAccountPositionUpdate;
                drainRetry = new Timer(RetryDrain);
                b.Start();
                bridge = b;
            }
            catch (ArgumentException e)
            {
                // e.g. an account name longer than the 32 bytes of Hello.account
                Print("TickBridge: not started: " + e.Message);
            }
        }

        // Why the strategy does not run, where a NinjaTrader user sees it, then it stops: not enabled
        // but inert. Help guide, Log(): "LogLevel.Alert (also generates a pop-up notification window
        // with log message)"; SetState(): "Setting State to State.Terminated is meant as a way to
        // abort the strategy as it is running".
        private void RefuseToRun(string message)
        {
            Print(message);
            Log(message, LogLevel.Alert);
            ShowOnChart(message);
            SetState(State.Terminated);
        }

        // Help guide, Draw.TextFixed(): "Draws text in one of 5 available pre-defined fixed locations
        // on panel 1 (price panel) of a chart"; "each time this tag is used, the same draw object is
        // modified". On the strategy's event thread only (OnStateChange, an event, TriggerCustomEvent).
        private void ShowOnChart(string text)
        {
            if (ChartControl == null) return;   // not on a chart (the Strategies tab)
            try
            {
                Draw.TextFixed(this, "TickBridgeStatus", text, TextPosition.BottomLeft);
            }
            catch (Exception e)
            {
                Print("TickBridge: status not drawn on the chart: " + e.Message);
            }
        }

        private string StatusLine()
        {
            string engine = tradingStateText.Length > 0 ? tradingStateText : "not heard yet";
            return "TickBridge " + Account.Name + " | engine trading state: " + engine + " | order connection: "
                + orderConnectionStatus;
        }

        // From any thread: the status line is redrawn on the strategy's event thread.
        private void ScheduleStatusDraw()
        {
            if (terminating || Interlocked.Exchange(ref statusDrawScheduled, 1) == 1) return;
            ThreadPool.QueueUserWorkItem(DrawStatusFromPool);
        }

        private void DrawStatusFromPool(object unused)
        {
            try
            {
                TriggerCustomEvent(DrawStatus, null);
            }
            catch (Exception e)
            {
                if (!terminating) Print("TickBridge: TriggerCustomEvent failed: " + e.Message);
            }
            finally
            {
                // Cleared once it returns, whatever it did (see ScheduleCommandDrain): the next change
                // draws again; a skipped draw only leaves the previous line until then.
                Interlocked.Exchange(ref statusDrawScheduled, 0);
            }
        }

        private void DrawStatus(object unused)
        {
            if (!terminating) ShowOnChart(StatusLine());
        }

        // At Terminated: the frames the engine has not acknowledged are not lost silently. The bridge
        // is given a moment to send and get them acknowledged (a round trip with the engine up); what
        // is left is written to Documents\NinjaTrader 8\tickbridge\unsent\ (one file per session:
        // each frame as a u32 little-endian length then its bytes) and the Output window and the Log
        // tab say so. The engine's snapshot at the next Hello restates the orders and the fills
        // NinjaTrader keeps, so what they said reaches the engine again either way.
        public const int TerminateDrainMs = 2000;

        private void StopBridge()
        {
            Bridge b = Interlocked.Exchange(ref bridge, null);
            if (b == null) return;
            Timer retry = Interlocked.Exchange(ref drainRetry, null);
            if (retry != null) retry.Dispose();
            Timer disarm = Interlocked.Exchange(ref killDisarm, null);
            if (disarm != null) disarm.Dispose();
            try
            {
                Account.AccountItemUpdate -= OnAccountItemUpdate;
                Account.OrderUpdate -= OnAccountOrderUpdate;
                Account.ExecutionUpdate -= OnAccountExecutionUpdate;
                Account.PositionUpdate -= OnAccountPositionUpdate;
            }
            catch (Exception) { }
            if (!b.Stop(TerminateDrainMs + 3000, TerminateDrainMs))
            {
                Print("TickBridge: bridge thread did not stop within 5 s; it closes its sockets as soon as it returns");
                return;
            }
            SaveUnsent(b);
        }

        private void SaveUnsent(Bridge b)
        {
            byte[][] frames = b.UnsentFrames;
            if (frames.Length == 0) return;
            string folder = System.IO.Path.Combine(LibraryFolderOrData(), "unsent");
            string file = System.IO.Path.Combine(folder, "session-" + b.SessionId.ToString("X16") + ".tbf");
            try
            {
                System.IO.Directory.CreateDirectory(folder);
                using (var output = System.IO.File.Create(file))
                {
                    var length = new byte[4];
                    foreach (byte[] frame in frames)
                    {
                        Wire.PutU32(length, 0, (uint)frame.Length);
                        output.Write(length, 0, 4);
                        output.Write(frame, 0, frame.Length);
                    }
                }
                UnsentFile = file;
                string message = "TickBridge: " + frames.Length + " frames the engine did not acknowledge were written to " + file
                    + "; the engine's snapshot at the next start restates the orders and fills";
                Print(message);
                Log(message, LogLevel.Warning);
            }
            catch (Exception e)
            {
                string message = "TickBridge: " + frames.Length + " frames the engine did not acknowledge could not be written to "
                    + file + " (" + e.Message + "); the engine's snapshot at the next start restates the orders and fills";
                Print(message);
                Log(message, LogLevel.Error);
            }
        }

        // Documents\NinjaTrader 8\tickbridge (Globals.UserDataDir is Documents\NinjaTrader 8\).
        private static string LibraryFolderOrData()
        {
            return System.IO.Path.Combine(NinjaTrader.Core.Globals.UserDataDir, "tickbridge");
        }

        private static bool IsSimulatedAccount(Account account)
        {
            if (account.Provider == Provider.Simulator || account.Provider == Provider.Playback) return true;
            string name = account.Name ?? "";
            return name.StartsWith("Sim", StringComparison.Ordinal) || name.StartsWith("Playback", StringComparison.Ordinal);
        }

        // Orders already on the account with an engine name on this strategy's instrument (e.g.
        // from before a restart of NinjaTrader or of this strategy), working when realtime
        // starts: known by client order id, so a retried submit stays a no-op and cancel/replace
        // find them. The only orders an instance owns besides those it submits (ReportedHere).
        private void AdoptAccountOrders()
        {
            lock (Account.Orders)
            {
                foreach (Order order in Account.Orders)
                {
                    ulong id = ClientOrderIds.Parse(order.Name);
                    if (id == 0 || order.Instrument != Instrument || finishedOrders.ContainsKey(id)) continue;
                    if (Mapping.IsTerminal(order.OrderState)) Finish(id, order);
                    else ordersByClientId.TryAdd(id, order);
                }
            }
        }

        // ------------------------------------------------------------------ IBridgeHost (bridge thread)

        public void CommandsArrived()
        {
            if (terminating || Interlocked.Exchange(ref drainScheduled, 1) == 1) return;
            // Posted from a pool thread so that the bridge thread never waits on NinjaTrader,
            // even when TriggerCustomEvent waits for the strategy's own lock.
            ThreadPool.QueueUserWorkItem(ScheduleCommandDrain);
        }

        // Help guide, TriggerCustomEvent(): "The TriggerCustomEvent() method does NOT execute
        // before State.DataLoaded or during or after State.Terminated. In effect, attempting to
        // trigger custom events may be unavailable in some circumstances". It then returns
        // without running the delegate and without an error, so the flag is cleared here, after
        // it returns, whatever it did; what is still queued is tried again shortly, and a
        // command that waited CommandDeadlineMs is rejected so that nothing waits for good.
        private void ScheduleCommandDrain(object unused)
        {
            try
            {
                TriggerCustomEvent(ExecuteCommands, null);
            }
            catch (Exception e)
            {
                if (!terminating) Print("TickBridge: TriggerCustomEvent failed: " + e.Message);
            }
            finally
            {
                Interlocked.Exchange(ref drainScheduled, 0);
            }
            Bridge b = bridge;
            if (b == null || terminating || !b.HasCommands) return;
            RejectStaleCommands(b);
            Timer retry = drainRetry;
            if (retry == null || !b.HasCommands) return;
            try
            {
                retry.Change(DrainRetryMs, Timeout.Infinite);
            }
            catch (ObjectDisposedException) { }
        }

        private void RetryDrain(object unused)
        {
            CommandsArrived();
        }

        private bool TakeCommand(Bridge b, out Command command)
        {
            lock (commandTakeLock) return b.TryTakeCommand(out command);
        }

        // Off the strategy's thread: only answers (the bridge's Publish takes any thread).
        private void RejectStaleCommands(Bridge b)
        {
            lock (commandTakeLock)
            {
                Command c;
                while (b.TryPeekCommand(out c) && b.ElapsedMs - c.ReceivedMs >= CommandDeadlineMs)
                {
                    if (!b.TryTakeCommand(out c)) break;
                    Reject(b, c, RejectReason.PlatformBusy, "NinjaTrader ran no TriggerCustomEvent for " + (b.ElapsedMs - c.ReceivedMs) + " ms");
                }
            }
        }

        // The kill path does not go through TriggerCustomEvent at all: it uses only the Account's
        // own methods (help guide: NinjaScript > Language Reference > Add On > Account >
        // Cancel(), Flatten(); the Add On framework calls them from its own threads, e.g. a
        // window's), on a pool thread, so it works when the strategy's event thread is stuck,
        // busy or unavailable.
        public void KillArrived()
        {
            if (terminating) return;
            ThreadPool.QueueUserWorkItem(RunKills);
        }

        private void RunKills(object unused)
        {
            Bridge b = bridge;
            if (b == null) return;
            lock (killLock)
            {
                Command c;
                while (b.TryTakeKill(out c))
                {
                    try
                    {
                        Kill(b, c);
                    }
                    catch (Exception e)
                    {
                        Reject(b, c, RejectReason.PlatformRejected, e.Message);
                    }
                }
            }
        }

        public void EngineSilent()
        {
            if (terminating || Interlocked.Exchange(ref cancelScheduled, 1) == 1) return;
            ThreadPool.QueueUserWorkItem(ScheduleCancelOnDisconnect);
        }

        // Like the command drain: the flag is cleared once TriggerCustomEvent returns, whatever
        // it did. If it did not run the cancel (help guide: "may be unavailable in some
        // circumstances"), the same orders are cancelled through the Account, from this thread
        // (the kill path's rule): cancel-on-disconnect must not depend on the event thread.
        private void ScheduleCancelOnDisconnect(object unused)
        {
            var ran = new RanFlag();
            try
            {
                TriggerCustomEvent(CancelEngineOrders, ran);
            }
            catch (Exception e)
            {
                if (!terminating) Print("TickBridge: TriggerCustomEvent failed: " + e.Message);
            }
            finally
            {
                Interlocked.Exchange(ref cancelScheduled, 0);
            }
            if (ran.Value || terminating || bridge == null) return;
            try
            {
                CancelOwnWorkingOrders(false);
            }
            catch (Exception e)
            {
                Print("TickBridge: cancel on disconnect through the account failed: " + e.Message);
            }
        }

        public void Log(string message)
        {
            Print(message);
        }

        // ------------------------------------------------------------------ connection

        // Help guide, Common > OnConnectionStatusUpdate(): "Status: Represents the status of the key
        // adapter functionality. If the adapter supports live orders it will set Status to
        // Disconnected when its order system is not connected. PriceStatus: Represents the status
        // of the price feed."
        protected override void OnConnectionStatusUpdate(ConnectionStatusEventArgs connectionStatusUpdate)
        {
            bool up = connectionStatusUpdate.Status == ConnectionStatus.Connected;
            if (up != orderConnectionUp)
                Print("TickBridge: order connection " + connectionStatusUpdate.Status + " (price feed "
                    + connectionStatusUpdate.PriceStatus + ")" + (up ? "" : ": engine commands are refused until it is back"));
            orderConnectionStatus = connectionStatusUpdate.Status.ToString();
            orderConnectionUp = up;
            // The engine is told (PlatformStatus): it refuses new orders to this platform while
            // the order connection is down, and says so in tickbridge status.
            Bridge b = bridge;
            if (b != null)
                b.SetPlatformStatus(PlatformStatusOf(connectionStatusUpdate.Status, connectionStatusUpdate.PriceStatus), true);
            if (!terminating) ShowOnChart(StatusLine());
        }

        private static byte WireConnection(ConnectionStatus status)
        {
            switch (status)
            {
                case ConnectionStatus.Connected: return (byte)WireConnectionState.Connected;
                case ConnectionStatus.Connecting: return (byte)WireConnectionState.Connecting;
                case ConnectionStatus.ConnectionLost: return (byte)WireConnectionState.ConnectionLost;
                case ConnectionStatus.Disconnected:
                case ConnectionStatus.Disconnecting: return (byte)WireConnectionState.Disconnected;
                default: return (byte)WireConnectionState.Unknown;
            }
        }

        private static PlatformStatusRecord PlatformStatusOf(ConnectionStatus orders, ConnectionStatus prices)
        {
            var r = new PlatformStatusRecord();
            r.TimeNs = Wire.UtcNowNs();
            r.Orders = WireConnection(orders);
            r.Prices = WireConnection(prices);
            r.Text = ClipText("orders " + orders + ", prices " + prices, 48);
            return r;
        }

        // Bridge thread: shown (Output window, the chart's status line), never acted on: the
        // engine enforces its trading state (docs/protocol.md, TradingState).
        public void TradingStateArrived(byte state, string reason)
        {
            string name = state == 0 ? "ACTIVE" : state == 1 ? "REDUCING_ONLY" : state == 2 ? "HALTED" : "state " + state;
            string text = string.IsNullOrEmpty(reason) ? name : name + " (" + reason + ")";
            if (text == tradingStateText) return;
            tradingStateText = text;
            Print("TickBridge: engine trading state for " + Account.Name + ": " + text);
            ScheduleStatusDraw();
        }

        // No order action while the order connection is down: it could not reach the broker, and
        // NinjaTrader stops a strategy that tries (see ConnectionLossHandling above).
        private bool OrderConnectionUp(Bridge b, Command c)
        {
            if (orderConnectionUp) return true;
            Reject(b, c, RejectReason.NotConnected, "order connection " + orderConnectionStatus);
            return false;
        }

        // ------------------------------------------------------------------ market data

        protected override void OnMarketData(MarketDataEventArgs marketDataUpdate)
        {
            Bridge b = bridge;
            if (b == null) return;
            switch (marketDataUpdate.MarketDataType)
            {
                case MarketDataType.Last:
                {
                    var trade = new TradeRecord();
                    trade.InstrumentId = WireInstrumentId;
                    trade.TimeNs = ToUtcNs(marketDataUpdate.Time);
                    trade.Price = marketDataUpdate.Price;
                    trade.Size = (uint)Math.Max(0, Math.Min(uint.MaxValue, marketDataUpdate.Volume));
                    // Aggressor from the trade against the last best bid/ask seen.
                    double price = marketDataUpdate.Price;
                    trade.Aggressor = (byte)(askPrice > 0 && price >= askPrice ? WireAggressor.Buy
                        : bidPrice > 0 && price <= bidPrice ? WireAggressor.Sell : WireAggressor.Unknown);
                    lastPrice = price;
                    b.Publish(ref trade);
                    break;
                }
                case MarketDataType.Bid:
                    bidPrice = marketDataUpdate.Price;
                    bidSize = marketDataUpdate.Volume;
                    PublishQuote(b, marketDataUpdate.Time);
                    break;
                case MarketDataType.Ask:
                    askPrice = marketDataUpdate.Price;
                    askSize = marketDataUpdate.Volume;
                    PublishQuote(b, marketDataUpdate.Time);
                    break;
            }
        }

        private void PublishQuote(Bridge b, DateTime time)
        {
            var quote = new QuoteRecord();
            quote.InstrumentId = WireInstrumentId;
            quote.TimeNs = ToUtcNs(time);
            quote.BidPrice = bidPrice;
            quote.AskPrice = askPrice;
            quote.BidSize = (uint)Math.Max(0, Math.Min(uint.MaxValue, bidSize));
            quote.AskSize = (uint)Math.Max(0, Math.Min(uint.MaxValue, askSize));
            b.Publish(ref quote);
        }

        protected override void OnMarketDepth(MarketDepthEventArgs marketDepthUpdate)
        {
            Bridge b = bridge;
            if (b == null || !ForwardDepth) return;
            var depth = new DepthRecord();
            depth.InstrumentId = WireInstrumentId;
            depth.TimeNs = ToUtcNs(marketDepthUpdate.Time);
            if (marketDepthUpdate.MarketDataType == MarketDataType.Bid) depth.Side = (byte)WireSide.Buy;
            else if (marketDepthUpdate.MarketDataType == MarketDataType.Ask) depth.Side = (byte)WireSide.Sell;
            else return;
            depth.Price = marketDepthUpdate.Price;
            depth.Size = (uint)Math.Max(0, Math.Min(uint.MaxValue, marketDepthUpdate.Volume));
            depth.Level = (ushort)Math.Max(0, Math.Min(ushort.MaxValue, marketDepthUpdate.Position));
            depth.Action = (byte)(marketDepthUpdate.IsReset ? WireDepthAction.ClearSide
                : marketDepthUpdate.Operation == Operation.Remove ? WireDepthAction.Delete : WireDepthAction.Upsert);
            b.Publish(ref depth);
        }

        // ------------------------------------------------------------------ orders, fills, positions

        // NinjaTrader calls a strategy's OnOrderUpdate/OnExecutionUpdate for the orders it
        // submitted only; every other order of the account (placed by hand, by another
        // strategy, or an engine order adopted after a restart) is seen through the
        // Account's events. Each order is forwarded from exactly one of the two.
        protected override void OnOrderUpdate(Order order, double limitPrice, double stopPrice, int quantity, int filled,
            double averageFillPrice, OrderState orderState, DateTime time, ErrorCode error, string comment)
        {
            ForwardOrderUpdate(order, limitPrice, stopPrice, quantity, filled, averageFillPrice, orderState, time, error, comment);
        }

        private void OnAccountOrderUpdate(object sender, OrderEventArgs e)
        {
            Order order = e.Order;
            if (order == null || OwnedByThisStrategy(order) || !ReportedHere(order)) return;
            if (ClientOrderIds.Parse(order.Name) == 0) flattenOrders.Claim(order, DateTime.UtcNow);
            ForwardOrderUpdate(order, e.LimitPrice, e.StopPrice, e.Quantity, e.Filled, e.AverageFillPrice, e.OrderState, e.Time,
                e.Error, string.Empty);
        }

        private bool OwnedByThisStrategy(Order order)
        {
            ulong id = ClientOrderIds.Parse(order.Name);
            FinishedOrder finished;
            return id != 0 && (submittedHere.ContainsKey(id)
                || (finishedOrders.TryGetValue(id, out finished) && finished.SubmittedHere));
        }

        // Which of the account's orders this instance reports (and may cancel): those it submitted,
        // the engine orders it adopted at the start of realtime (AdoptAccountOrders), and the
        // orders placed by hand on its own instrument. Another instance's engine orders, and any
        // order on another instrument, belong to the instance trading that instrument: with
        // several charts on one account and one engine, each order is reported by one session.
        private bool ReportedHere(Order order)
        {
            ulong id = ClientOrderIds.Parse(order.Name);
            if (id != 0) return submittedHere.ContainsKey(id) || ordersByClientId.ContainsKey(id) || finishedOrders.ContainsKey(id);
            return order.Instrument == Instrument;
        }

        private void ForwardOrderUpdate(Order order, double limitPrice, double stopPrice, int quantity, int filled,
            double averageFillPrice, OrderState orderState, DateTime time, ErrorCode error, string comment)
        {
            ulong id = ClientOrderIds.Parse(order.Name);
            if (id != 0 && ReportedHere(order))
            {
                if (Mapping.IsTerminal(orderState) || finishedOrders.ContainsKey(id)) Finish(id, order);
                else ordersByClientId[id] = order;
            }
            Bridge b = bridge;
            if (b == null) return;
            var update = MakeOrderUpdate(order, id != 0 ? id : flattenOrders.IdOf(order), limitPrice, stopPrice, quantity, filled, averageFillPrice, orderState, ToUtcNs(time));
            if (orderState == OrderState.Rejected || error != ErrorCode.NoError)
            {
                update.Reason = (ushort)RejectReason.PlatformRejected;
                update.Text = ClipText(error + ": " + comment, 40);
            }
            else
            {
                update.Text = ClipText(orderState == OrderState.Suspended ? "Suspended" : comment, 40);
            }
            b.Publish(ref update);
            // A cancel or change NinjaTrader could not carry out: the order stays as it was, and
            // the command the engine had an ack for is answered with a reject.
            ulong requestId;
            if (id != 0 && error == ErrorCode.UnableToCancelOrder && cancelRequests.TryRemove(id, out requestId))
                LateReject(b, id, requestId, RecordType.Cancel, error, comment);
            else if (id != 0 && error == ErrorCode.UnableToChangeOrder && changeRequests.TryRemove(id, out requestId))
                LateReject(b, id, requestId, RecordType.Replace, error, comment);
            if (id != 0 && Mapping.IsTerminal(orderState))
            {
                cancelRequests.TryRemove(id, out requestId);
                changeRequests.TryRemove(id, out requestId);
            }
        }

        // An order reached a final state: out of the live maps, into the bounded finished ones.
        private void Finish(ulong id, Order order)
        {
            bool here;
            Order live;
            bool wasHere = submittedHere.TryRemove(id, out here);
            ordersByClientId.TryRemove(id, out live);
            FinishedOrder finished;
            if (finishedOrders.TryGetValue(id, out finished))
            {
                finished.Order = order;   // a later event of a finished order (an overfill)
                return;
            }
            finished = new FinishedOrder();
            finished.Order = order;
            finished.SubmittedHere = wasHere;
            if (finishedOrders.TryAdd(id, finished)) finishedSequence.Enqueue(id);
            ulong oldest;
            FinishedOrder forgotten;
            while (finishedOrders.Count > FinishedOrdersKept && finishedSequence.TryDequeue(out oldest))
                finishedOrders.TryRemove(oldest, out forgotten);
        }

        private void LateReject(Bridge b, ulong clientOrderId, ulong requestId, ushort commandType, ErrorCode error, string comment)
        {
            var reject = new CommandRejectRecord();
            reject.InstrumentId = WireInstrumentId;
            reject.RequestId = requestId;
            reject.ClientOrderId = clientOrderId;
            reject.CommandType = commandType;
            reject.Reason = (ushort)RejectReason.PlatformRejected;
            reject.Text = ClipText(error + ": " + comment, 64);
            b.Publish(ref reject);
        }

        private OrderUpdateRecord MakeOrderUpdate(Order order, ulong clientOrderId, double limitPrice, double stopPrice, int quantity,
            int filled, double averageFillPrice, OrderState orderState, long timeNs)
        {
            var r = new OrderUpdateRecord();
            r.InstrumentId = order.Instrument == Instrument ? WireInstrumentId : 0;
            r.ClientOrderId = clientOrderId;
            r.TimeNs = timeNs;
            r.Price = order.OrderType == OrderType.StopMarket ? 0 : limitPrice;
            r.StopPrice = stopPrice;
            r.Quantity = quantity;
            r.FilledQuantity = filled;
            r.AverageFillPrice = averageFillPrice;
            r.Status = (byte)Mapping.Status(orderState);
            r.Side = (byte)Mapping.Side(order.OrderAction);
            r.OrderType = (byte)Mapping.Type(order.OrderType);
            r.TimeInForce = (byte)Mapping.Tif(order.TimeInForce);
            r.PlatformOrderId = order.OrderId;
            return r;
        }

        // The engine's id from the order's name; else the platform-made id of a flatten's
        // closing order; else 0 (an external order: by hand, another tool).
        private ulong ClientIdOf(Order order)
        {
            ulong id = ClientOrderIds.Parse(order.Name);
            return id != 0 ? id : flattenOrders.IdOf(order);
        }

        private OrderUpdateRecord CurrentState(Order order)
        {
            var r = MakeOrderUpdate(order, ClientIdOf(order), order.LimitPrice, order.StopPrice, order.Quantity,
                order.Filled, order.AverageFillPrice, order.OrderState, Wire.UtcNowNs());
            r.Text = "current state";
            return r;
        }

        protected override void OnExecutionUpdate(Execution execution, string executionId, double price, int quantity,
            MarketPosition marketPosition, string orderId, DateTime time)
        {
            ForwardExecution(execution, executionId, price, quantity, marketPosition, orderId, time);
        }

        private void OnAccountExecutionUpdate(object sender, ExecutionEventArgs e)
        {
            Execution execution = e.Execution;
            if (execution == null || (execution.Order != null && OwnedByThisStrategy(execution.Order))) return;
            if (execution.Order != null ? !ReportedHere(execution.Order) : execution.Instrument != Instrument) return;
            // Some brokers report the execution before the order's first update.
            if (execution.Order != null && ClientOrderIds.Parse(execution.Order.Name) == 0)
                flattenOrders.Claim(execution.Order, DateTime.UtcNow);
            ForwardExecution(execution, e.ExecutionId, e.Price, e.Quantity, e.MarketPosition, e.OrderId, e.Time);
        }

        private void ForwardExecution(Execution execution, string executionId, double price, int quantity,
            MarketPosition marketPosition, string orderId, DateTime time)
        {
            var fill = MakeFill(execution, executionId, price, quantity, marketPosition, orderId, time);
            Bridge b = bridge;
            if (b != null) b.Publish(ref fill);
        }

        private FillRecord MakeFill(Execution execution, string executionId, double price, int quantity,
            MarketPosition marketPosition, string orderId, DateTime time)
        {
            Order order = execution.Order;
            var fill = new FillRecord();
            fill.InstrumentId = execution.Instrument == Instrument ? WireInstrumentId : 0;
            fill.ClientOrderId = order != null ? ClientIdOf(order) : 0;
            fill.TimeNs = ToUtcNs(time);
            fill.Price = price;
            fill.Quantity = quantity;
            // The execution's direction: Long = a buy, Short = a sell (NinjaTrader's convention).
            fill.Side = (byte)(order != null ? Mapping.Side(order.OrderAction)
                : marketPosition == MarketPosition.Short ? WireSide.Sell : WireSide.Buy);
            fill.ExecutionId = executionId;
            fill.PlatformOrderId = orderId;
            return fill;
        }

        // Position records carry the account's position in the strategy's instrument (what the
        // engine reconciles against), from the Account's event; the strategy's own
        // OnPositionUpdate (its share of it) triggers a fresh read of the account position.
        protected override void OnPositionUpdate(Position position, double averagePrice, int quantity, MarketPosition marketPosition)
        {
            PublishPosition(Wire.UtcNowNs());
        }

        private void OnAccountPositionUpdate(object sender, PositionEventArgs e)
        {
            if (e.Position == null || e.Position.Instrument != Instrument) return;
            // Help guide, Account > PositionUpdate: "The core MarketPosition e.Position is considered
            // flat when Operation.Remove is seen" (its values are then the closed position's).
            if (e.Operation == Operation.Remove) ForwardPosition(0, 0, MarketPosition.Flat);
            else ForwardPosition(e.AveragePrice, e.Quantity, e.MarketPosition);
        }

        private void ForwardPosition(double averagePrice, int quantity, MarketPosition marketPosition)
        {
            Bridge b = bridge;
            if (b == null) return;
            var r = new PositionRecord();
            r.InstrumentId = WireInstrumentId;
            r.TimeNs = Wire.UtcNowNs();
            r.Quantity = marketPosition == MarketPosition.Short ? -quantity : marketPosition == MarketPosition.Long ? quantity : 0;
            r.AveragePrice = averagePrice;
            r.OpenPnl = lastPrice > 0 && r.Quantity != 0
                ? (lastPrice - averagePrice) * r.Quantity * Instrument.MasterInstrument.PointValue : 0;
            b.Publish(ref r);
        }

        private void OnAccountItemUpdate(object sender, AccountItemEventArgs e)
        {
            PublishAccount();
        }

        private void PublishAccount()
        {
            Bridge b = bridge;
            if (b == null) return;
            var r = AccountValues();
            b.Publish(ref r);
        }

        private AccountRecord AccountValues()
        {
            var r = new AccountRecord();
            r.TimeNs = Wire.UtcNowNs();
            r.CashBalance = Account.Get(AccountItem.CashValue, Currency.UsDollar);
            r.RealizedPnl = Account.Get(AccountItem.RealizedProfitLoss, Currency.UsDollar);
            r.UnrealizedPnl = Account.Get(AccountItem.UnrealizedProfitLoss, Currency.UsDollar);
            r.NetLiquidation = Account.Get(AccountItem.NetLiquidation, Currency.UsDollar);
            return r;
        }

        private void PublishPosition(long timeNs)
        {
            Bridge b = bridge;
            if (b == null) return;
            var r = PositionValues(timeNs);
            b.Publish(ref r);
        }

        private PositionRecord PositionValues(long timeNs)
        {
            var r = new PositionRecord();
            r.InstrumentId = WireInstrumentId;
            r.TimeNs = timeNs;
            lock (Account.Positions)
            {
                foreach (Position p in Account.Positions)
                {
                    if (p.Instrument != Instrument) continue;
                    r.Quantity = p.MarketPosition == MarketPosition.Short ? -p.Quantity : p.MarketPosition == MarketPosition.Long ? p.Quantity : 0;
                    r.AveragePrice = p.AveragePrice;
                    r.OpenPnl = lastPrice > 0 && r.Quantity != 0
                        ? (lastPrice - p.AveragePrice) * r.Quantity * Instrument.MasterInstrument.PointValue : 0;
                }
            }
            return r;
        }

        // ------------------------------------------------------------------ commands (NinjaTrader thread, via TriggerCustomEvent)

        private void ExecuteCommands(object state)
        {
            Interlocked.Exchange(ref drainScheduled, 0);
            Bridge b = bridge;
            if (b == null || terminating) return;
            Command command;
            while (TakeCommand(b, out command))
            {
                try
                {
                    Execute(b, command);
                }
                catch (Exception e)
                {
                    Reject(b, command, RejectReason.PlatformRejected, e.Message);
                }
            }
        }

        private void Execute(Bridge b, Command c)
        {
            switch (c.Type)
            {
                case RecordType.Submit: Submit(b, c); break;
                case RecordType.Replace: Replace(b, c); break;
                case RecordType.Cancel: Cancel(b, c); break;
                case RecordType.CancelAll:
                    if (!KnownInstrument(b, c) || !OrderConnectionUp(b, c)) return;
                    Account.CancelAllOrders(Instrument);
                    Ack(b, c);
                    break;
                case RecordType.Flatten:
                    if (!KnownInstrument(b, c) || !OrderConnectionUp(b, c)) return;
                    Flatten(new List<Instrument> { Instrument });
                    Ack(b, c);
                    break;
                case RecordType.SnapshotRequest: Snapshot(b, c); break;
                default: Reject(b, c, RejectReason.Malformed, "unknown command " + Wire.NameOf(c.Type)); break;
            }
        }

        private bool KnownInstrument(Bridge b, Command c)
        {
            if (c.InstrumentId == 0 || c.InstrumentId == WireInstrumentId) return true;
            Reject(b, c, RejectReason.UnknownInstrument, "instrument " + c.InstrumentId + " is not this strategy's");
            return false;
        }

        private bool Realtime(Bridge b, Command c)
        {
            if (State == State.Realtime) return true;
            // Orders from historical processing would be simulated ones: refuse until realtime.
            Reject(b, c, RejectReason.PlatformBusy, "strategy is in State." + State + ", not Realtime");
            return false;
        }

        private void Submit(Bridge b, Command c)
        {
            if (c.ClientOrderId == 0) { Reject(b, c, RejectReason.Malformed, "client_order_id 0"); return; }
            Order existing;
            FinishedOrder done;
            if (!ordersByClientId.TryGetValue(c.ClientOrderId, out existing) && finishedOrders.TryGetValue(c.ClientOrderId, out done))
                existing = done.Order;
            if (existing != null)
            {
                // A retried submit places nothing: ack it and send the order's current state.
                Ack(b, c);
                var current = CurrentState(existing);
                b.Publish(ref current);
                return;
            }
            if (!KnownInstrument(b, c) || !Realtime(b, c) || !OrderConnectionUp(b, c)) return;
            if (c.Quantity <= 0 || c.Quantity > int.MaxValue) { Reject(b, c, RejectReason.InvalidQuantity, "quantity " + c.Quantity); return; }
            OrderType type;
            double limit = 0, stop = 0;
            switch (c.OrderType)
            {
                case (byte)WireOrderType.Market: type = OrderType.Market; break;
                case (byte)WireOrderType.Limit: type = OrderType.Limit; limit = c.Price; break;
                case (byte)WireOrderType.Stop: type = OrderType.StopMarket; stop = c.StopPrice; break;
                case (byte)WireOrderType.StopLimit: type = OrderType.StopLimit; limit = c.Price; stop = c.StopPrice; break;
                default: Reject(b, c, RejectReason.Malformed, "order type " + c.OrderType); return;
            }
            if (!OnTick(limit) || !OnTick(stop)) { Reject(b, c, RejectReason.OffTickPrice, "price off the tick grid " + TickSize); return; }
            TimeInForce tif;
            switch (c.TimeInForce)
            {
                case (byte)WireTimeInForce.Day: tif = TimeInForce.Day; break;
                case (byte)WireTimeInForce.Gtc: tif = TimeInForce.Gtc; break;
                // Help guide, Strategy > TimeInForce: "Sets the time in force property for all orders
                // generated by a strategy"; its values are Day, Gtc and Gtd. IOC is not one: an order
                // the engine believes is IOC could rest and fill later, so it is refused. The time in
                // force NinjaTrader really gave an order is in every OrderUpdate (Order.TimeInForce).
                default: Reject(b, c, RejectReason.PlatformRejected, "time in force " + c.TimeInForce + " not offered by NinjaTrader"); return;
            }
            // Help guide, Strategy Position vs. Account Position: "A Strategy Position is a virtual
            // position that is created by the entry and exit executions generated by a strategy and
            // is independent from any other running strategy's position or an Account Position".
            // What a sell closes (Sell) or opens (SellShort) at the broker is the account's position
            // in this instrument, which also holds hand-placed and other strategies' fills; the
            // strategy's virtual Position can be stale while fills are in flight.
            OrderAction action;
            long held = AccountQuantity();
            if (c.Side == (byte)WireSide.Buy) action = held < 0 ? OrderAction.BuyToCover : OrderAction.Buy;
            else if (c.Side == (byte)WireSide.Sell) action = held > 0 ? OrderAction.Sell : OrderAction.SellShort;
            else { Reject(b, c, RejectReason.Malformed, "side " + c.Side); return; }

            TimeInForce = tif;   // the strategy's TimeInForce applies to the orders it submits next
            submittedHere[c.ClientOrderId] = true;
            Order order = SubmitOrderUnmanaged(0, action, type, (int)c.Quantity, limit, stop, string.Empty,
                ClientOrderIds.Format(c.ClientOrderId));
            if (order == null)
            {
                bool known = ordersByClientId.ContainsKey(c.ClientOrderId) || finishedOrders.ContainsKey(c.ClientOrderId);
                if (!known) submittedHere.TryRemove(c.ClientOrderId, out known);
                Reject(b, c, RejectReason.PlatformRejected, "SubmitOrderUnmanaged returned no order");
                return;
            }
            // Unless it already reached a final state inside SubmitOrderUnmanaged (NinjaTrader calls
            // OnOrderUpdate from inside it: an immediate reject is final before it returns).
            if (!finishedOrders.ContainsKey(c.ClientOrderId)) ordersByClientId.TryAdd(c.ClientOrderId, order);
            Ack(b, c);
        }

        // Signed: long > 0, short < 0; the account's position in this strategy's instrument.
        private long AccountQuantity()
        {
            lock (Account.Positions)
            {
                foreach (Position p in Account.Positions)
                {
                    if (p.Instrument != Instrument) continue;
                    return p.MarketPosition == MarketPosition.Short ? -p.Quantity : p.MarketPosition == MarketPosition.Long ? p.Quantity : 0;
                }
            }
            return 0;
        }

        // TickSize is NinjaScriptBase's (help guide, Common > Analytical > TickSize: "The minimum
        // fluctuation value which is always a value of 1-tick for the corresponding master instrument").
        private bool OnTick(double price)
        {
            if (price == 0) return true;
            double ticks = price / TickSize;
            return Math.Abs(ticks - Math.Round(ticks)) < 1e-6;
        }

        private Order FindWorking(Bridge b, Command c)
        {
            Order order;
            FinishedOrder finished;
            if (!ordersByClientId.TryGetValue(c.ClientOrderId, out order) && finishedOrders.TryGetValue(c.ClientOrderId, out finished))
                order = finished.Order;
            if (order == null)
            {
                Reject(b, c, RejectReason.UnknownOrder, "no order named " + ClientOrderIds.Format(c.ClientOrderId));
                return null;
            }
            if (Mapping.IsTerminal(order.OrderState))
            {
                Reject(b, c, RejectReason.TooLateToCancel, "order is " + order.OrderState);
                return null;
            }
            return order;
        }

        private void Replace(Bridge b, Command c)
        {
            if (!Realtime(b, c) || !OrderConnectionUp(b, c)) return;
            Order order = FindWorking(b, c);
            if (order == null) return;
            if (c.Quantity <= 0 || c.Quantity > int.MaxValue || c.Quantity <= order.Filled)
            {
                Reject(b, c, RejectReason.InvalidQuantity, "quantity " + c.Quantity + " with " + order.Filled + " filled");
                return;
            }
            double limit = order.OrderType == OrderType.Limit || order.OrderType == OrderType.StopLimit ? c.Price : 0;
            double stop = order.OrderType == OrderType.StopMarket || order.OrderType == OrderType.StopLimit ? c.StopPrice : 0;
            if (!OnTick(limit) || !OnTick(stop)) { Reject(b, c, RejectReason.OffTickPrice, "price off the tick grid " + TickSize); return; }
            changeRequests[c.ClientOrderId] = c.RequestId;
            if (submittedHere.ContainsKey(c.ClientOrderId))
            {
                ChangeOrder(order, (int)c.Quantity, limit, stop);
            }
            else
            {
                // Not this instance's order (e.g. placed before a restart): change it through the account.
                order.QuantityChanged = (int)c.Quantity;
                order.LimitPriceChanged = limit;
                order.StopPriceChanged = stop;
                Account.Change(new[] { order });
            }
            Ack(b, c);
        }

        private void Cancel(Bridge b, Command c)
        {
            if (!Realtime(b, c) || !OrderConnectionUp(b, c)) return;
            Order order = FindWorking(b, c);
            if (order == null) return;
            cancelRequests[c.ClientOrderId] = c.RequestId;
            if (submittedHere.ContainsKey(c.ClientOrderId)) CancelOrder(order);
            else Account.Cancel(new[] { order });
            Ack(b, c);
        }

        private void Snapshot(Bridge b, Command c)
        {
            Ack(b, c);
            var begin = new SnapshotBoundaryRecord();
            begin.RequestId = c.RequestId;
            begin.Phase = 1;
            b.Publish(ref begin);
            uint count = 0;
            SnapshotPart what = (SnapshotPart)c.What;
            if ((what & SnapshotPart.Orders) != 0)
            {
                var orders = new List<Order>();
                lock (Account.Orders)
                {
                    foreach (Order order in Account.Orders)
                        if (ReportedHere(order) && !Mapping.IsTerminal(order.OrderState)) orders.Add(order);
                }
                foreach (Order order in orders)
                {
                    var r = CurrentState(order);
                    r.Text = "snapshot";
                    if (b.Publish(ref r)) count++;
                }
            }
            if ((what & SnapshotPart.Positions) != 0)
            {
                var r = PositionValues(Wire.UtcNowNs());
                if (b.Publish(ref r)) count++;
            }
            if ((what & SnapshotPart.Fills) != 0)
            {
                // The account's executions as NinjaTrader keeps them (this session's, including
                // those from before a restart of the strategy).
                var executions = new List<Execution>();
                lock (Account.Executions)
                {
                    foreach (Execution e in Account.Executions)
                        if (e.Order != null ? ReportedHere(e.Order) : e.Instrument == Instrument) executions.Add(e);
                }
                foreach (Execution e in executions)
                {
                    var r = MakeFill(e, e.ExecutionId, e.Price, e.Quantity, e.MarketPosition, e.OrderId, e.Time);
                    if (r.TimeNs < c.FillsSinceNs) continue;
                    if (b.Publish(ref r)) count++;
                }
            }
            if ((what & SnapshotPart.Account) != 0)
            {
                var r = AccountValues();
                if (b.Publish(ref r)) count++;
            }
            var end = new SnapshotBoundaryRecord();
            end.RequestId = c.RequestId;
            end.Phase = 2;
            end.RecordCount = count;
            b.Publish(ref end);
        }

        // Kill: every working order of the account, and with flatten every position. Reached
        // from the kill endpoint (engine may be dead) or the chart button.
        private void Kill(Bridge b, Command c)
        {
            KillAccount(c.Flatten);
            var ack = new CommandAckRecord();
            ack.RequestId = c.RequestId;
            ack.CommandType = RecordType.Kill;
            if (c.KillEnvelope != null) b.ReplyKill(c, ref ack);
            else b.Publish(ref ack);
        }

        private void KillAccount(bool flatten)
        {
            var working = new List<Order>();
            var instruments = new List<Instrument>();
            lock (Account.Orders)
            {
                foreach (Order order in Account.Orders)
                    if (!Mapping.IsTerminal(order.OrderState)) working.Add(order);
            }
            if (working.Count > 0) Account.Cancel(working);
            if (!flatten) return;
            lock (Account.Positions)
            {
                foreach (Position p in Account.Positions)
                    if (p.MarketPosition != MarketPosition.Flat && !instruments.Contains(p.Instrument)) instruments.Add(p.Instrument);
            }
            if (instruments.Count > 0) Flatten(instruments);
        }

        // Account.Flatten, watching for the closing orders NinjaTrader places for it (it may
        // report them before Flatten returns): the account's orders and positions are read
        // first, so that no order already there is taken for a closing one.
        private void Flatten(List<Instrument> instruments)
        {
            var existing = new List<Order>();
            lock (Account.Orders)
            {
                foreach (Order order in Account.Orders) existing.Add(order);
            }
            var positions = new Dictionary<Instrument, int>();
            lock (Account.Positions)
            {
                foreach (Position p in Account.Positions)
                {
                    if (!instruments.Contains(p.Instrument) || p.MarketPosition == MarketPosition.Flat) continue;
                    positions[p.Instrument] = p.MarketPosition == MarketPosition.Long ? p.Quantity : -p.Quantity;
                }
            }
            flattenOrders.Flattening(existing, positions, DateTime.UtcNow);
            Account.Flatten(instruments);
        }

        // Cancel-on-disconnect: this strategy's working engine orders, not the whole account.
        private void CancelEngineOrders(object state)
        {
            var ran = state as RanFlag;
            if (ran != null) ran.Value = true;
            if (terminating) return;
            CancelOwnWorkingOrders(true);
        }

        // This instance's working engine orders (ReportedHere): on the strategy's event thread
        // its own through CancelOrder, else everything through Account.Cancel.
        private void CancelOwnWorkingOrders(bool onEventThread)
        {
            if (!orderConnectionUp)
            {
                // Nothing reaches the broker now; the broker's own handling of the outage applies.
                Print("TickBridge: engine silent while the order connection is " + orderConnectionStatus + ": no cancel sent");
                return;
            }
            var viaAccount = new List<Order>();
            foreach (KeyValuePair<ulong, Order> entry in ordersByClientId)
            {
                Order order = entry.Value;
                if (Mapping.IsTerminal(order.OrderState)) continue;
                Print("TickBridge: engine silent: cancelling " + order.Name);
                if (onEventThread && submittedHere.ContainsKey(entry.Key)) CancelOrder(order);
                else viaAccount.Add(order);
            }
            if (viaAccount.Count > 0) Account.Cancel(viaAccount);
        }

        private void Ack(Bridge b, Command c)
        {
            var ack = new CommandAckRecord();
            ack.InstrumentId = c.InstrumentId;
            ack.RequestId = c.RequestId;
            ack.ClientOrderId = c.ClientOrderId;
            ack.CommandType = c.Type;
            b.Publish(ref ack);
        }

        private void Reject(Bridge b, Command c, RejectReason reason, string text)
        {
            var reject = new CommandRejectRecord();
            reject.InstrumentId = c.InstrumentId;
            reject.RequestId = c.RequestId;
            reject.ClientOrderId = c.ClientOrderId;
            reject.CommandType = c.Type;
            reject.Reason = (ushort)reason;
            reject.Text = ClipText(text, 64);
            if (c.KillEnvelope != null) b.ReplyKill(c, ref reject);
            else b.Publish(ref reject);
        }

        // ------------------------------------------------------------------ chart kill button (WPF, UI thread)

        private void AddKillButton()
        {
            if (!ShowKillButton || ChartControl == null) return;
            ChartControl.Dispatcher.InvokeAsync(new Action(CreateKillButton));
        }

        private void CreateKillButton()
        {
            chartWindow = Window.GetWindow(ChartControl.Parent) as Chart;
            if (chartWindow == null) return;
            killButton = new Button();
            killButton.Click += OnKillButtonClick;
            ResetKillButton();
            chartWindow.MainMenu.Add(killButton);
        }

        private void RemoveKillButton()
        {
            if (ChartControl == null || killButton == null) return;
            ChartControl.Dispatcher.InvokeAsync(new Action(DisposeKillButton));
        }

        private void DisposeKillButton()
        {
            if (killButton == null) return;
            killButton.Click -= OnKillButtonClick;
            if (chartWindow != null) chartWindow.MainMenu.Remove(killButton);
            killButton = null;
        }

        // Two steps (UI thread): the first click arms the button and names the account it will
        // flatten; a second click within KillConfirmMs kills; otherwise it disarms itself.
        private void OnKillButtonClick(object sender, RoutedEventArgs e)
        {
            if (killButton == null) return;
            bool confirmed = killArmed && unchecked(Environment.TickCount - killArmedAtTick) < KillConfirmMs;
            if (!confirmed)
            {
                killArmed = true;
                killArmedAtTick = Environment.TickCount;
                killButton.Content = "CONFIRM KILL " + Account.Name;
                killButton.ToolTip = "Click again within " + KillConfirmMs / 1000 + " s to cancel every working order of account "
                    + Account.Name + " and flatten it";
                Timer old = Interlocked.Exchange(ref killDisarm, new Timer(DisarmKillButton, null, KillConfirmMs, Timeout.Infinite));
                if (old != null) old.Dispose();
                return;
            }
            ResetKillButton();
            // The Account's methods, on a pool thread: the kill does not wait for the strategy's
            // event thread (see KillArrived).
            ThreadPool.QueueUserWorkItem(KillFromButton);
        }

        private void DisarmKillButton(object unused)
        {
            ChartControl control = ChartControl;
            if (control != null && !terminating) control.Dispatcher.InvokeAsync(new Action(ResetKillButton));
        }

        private void ResetKillButton()
        {
            killArmed = false;
            if (killButton == null) return;
            killButton.Content = KillButtonText();
            killButton.ToolTip = "TickBridge kill switch: cancel every working order of account " + Account.Name
                + " and flatten it (click twice)";
        }

        private string KillButtonText()
        {
            return "TB KILL " + Account.Name;
        }

        private void KillFromButton(object unused)
        {
            try
            {
                Print("TickBridge: kill button: cancelling every working order and flattening account " + Account.Name);
                KillAccount(true);
            }
            catch (Exception e)
            {
                Print("TickBridge: kill button: " + e.Message);
            }
        }

        // ------------------------------------------------------------------ helpers

        // NinjaTrader's times are in the time zone chosen in its options; the wire wants UTC.
        // The offset is cached for the hour (DST moves on hour boundaries).
        private long ToUtcNs(DateTime time)
        {
            long ticks = time.Ticks;
            ZoneOffset z = zoneOffset;
            if (z == null || ticks < z.FromTicks || ticks >= z.ToTicks)
            {
                z = new ZoneOffset();
                z.FromTicks = ticks - ticks % TimeSpan.TicksPerHour;
                z.ToTicks = z.FromTicks + TimeSpan.TicksPerHour;
                z.OffsetTicks = time.Kind == DateTimeKind.Utc ? 0
                    : platformZone.GetUtcOffset(DateTime.SpecifyKind(time, DateTimeKind.Unspecified)).Ticks;
                zoneOffset = z;
            }
            return (ticks - z.OffsetTicks - Wire.UnixEpochTicks) * 100;
        }

        // Free text (platform comments) is clipped on a character boundary to its field; ids never are.
        private static string ClipText(string text, int bytes)
        {
            if (string.IsNullOrEmpty(text)) return string.Empty;
            while (System.Text.Encoding.UTF8.GetByteCount(text) > bytes) text = text.Substring(0, text.Length - 1);
            return text;
        }
    }
}
