// The bridge thread: owns every ZeroMQ socket (a DEALER to the engine, a ROUTER bound for
// the kill endpoint), batches what NinjaTrader's threads queued into frames, sends
// heartbeats, keeps order/fill/position/ack frames until the engine acknowledges them and
// resends them after a reconnect or a new engine session, watches for engine silence,
// and hands the engine's commands to the strategy, which executes them on a NinjaTrader
// thread through TriggerCustomEvent. Nothing here is ever called in a way that makes a
// NinjaTrader thread wait on the network.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using NinjaTrader.NinjaScript.AddOns.TickBridge.Protocol;

namespace NinjaTrader.NinjaScript.AddOns.TickBridge
{
    public sealed class BridgeSettings
    {
        public string EngineEndpoint = "tcp://127.0.0.1:5555";
        public string KillEndpoint = "tcp://127.0.0.1:5556";   // empty: no kill endpoint
        public string KillSecret = "";                          // empty: every Kill is refused
        // ZeroMQ CURVE (docs/security.md): both empty, a plain connection. Else the engine's
        // public key (z85 or its NAME.key file) and this shim's key (z85 secret key or its
        // NAME.key_secret file); keys that cannot be read mean no connection, never a plain one.
        public string CurveServerKey = "";
        public string CurveClientKey = "";
        public int HeartbeatIntervalMs = 1000;
        public int SilenceHeartbeats = 3;       // engine silent for this many intervals = disconnected
        public bool CancelOnDisconnect = true;
        public int QueueCapacity = 65536;       // records; power of two
        public int MaxUnackedBytes = 64 << 20;  // kept order/fill frames awaiting the engine's ack
        public int MaxSpilledRecords = 100000;  // order events waiting beside a full queue
        public int MaxRecordsPerFrame = 1000;
        public int PollIntervalMs = 1;          // batching window when idle
    }

    /// <summary>A command from the engine or the kill endpoint, decoded on the bridge thread.</summary>
    public sealed class Command
    {
        public ushort Type;
        public uint InstrumentId;
        public ulong RequestId;
        public ulong ClientOrderId;
        public double Price;
        public double StopPrice;
        public long Quantity;
        public byte Side;
        public byte OrderType;
        public byte TimeInForce;
        public uint What;
        public long FillsSinceNs;
        public bool Flatten;
        public byte[][] KillEnvelope;   // set when the command came in on the kill endpoint
        public long ReceivedMs;         // Bridge.NowMs() when decoded: a command never answered is rejected in time
    }

    /// <summary>What the bridge needs from its owner. Called on the bridge thread: must only
    /// marshal work to the platform (TriggerCustomEvent, a pool thread), never do order work itself.</summary>
    public interface IBridgeHost
    {
        void CommandsArrived();
        /// <summary>An authenticated Kill is waiting (TryTakeKill): it has its own queue so that
        /// it never waits behind commands the platform is not running.</summary>
        void KillArrived();
        void EngineSilent();
        /// <summary>A TradingState from the engine (shown, never acted on: the engine enforces it).</summary>
        void TradingStateArrived(byte state, string reason);
        void Log(string message);
    }

    public sealed class Bridge
    {
        // Process-wide diagnostics (the tests check that Terminated leaves nothing behind).
        public static int OpenSockets;
        public static int RunningThreads;

        private readonly BridgeSettings settings;
        private readonly IBridgeHost host;
        private readonly HelloRecord hello;
        private readonly InstrumentDefinitionRecord[] instruments;
        private readonly EventQueue queue;
        private readonly ConcurrentQueue<byte[]> overflow = new ConcurrentQueue<byte[]>();
        private readonly ConcurrentQueue<Command> commands = new ConcurrentQueue<Command>();
        private readonly ConcurrentQueue<Command> kills = new ConcurrentQueue<Command>();
        private readonly ConcurrentQueue<KeyValuePair<byte[][], byte[]>> killReplies =
            new ConcurrentQueue<KeyValuePair<byte[][], byte[]>>();
        private readonly ulong sessionId;
        private Thread thread;
        private volatile bool stopping;

        // Counters, read by anyone, written with Interlocked.
        public long MarketDataDropped;
        public long OrderEventsSpilled;
        public long OrderEventsLost;
        private int spilledNow;
        public long EncodeErrors;
        public long FramesSent;
        public long RecordsSent;
        public long MalformedFrames;
        public long RetiredSessionFrames;   // frames of a replaced engine session: dropped
        public long EvictedFrames;

        // Bridge-thread state.
        private IntPtr context, dealer, killRouter;
        private readonly FrameWriter writer = new FrameWriter(64 * 1024);
        private readonly byte[] receiveBuffer = new byte[Wire.MaxFrameBytes + 1];
        private readonly List<Pending> pending = new List<Pending>();
        private int nextToSend;             // index in pending of the first frame not yet sent
        private long pendingBytes;
        private ulong lastSequence;         // last sequence given to a frame on the engine link
        private ulong killSequence;
        private bool engineUp;              // a frame came from the engine within the silence window
        private bool silenceReported;
        private ulong engineSession;
        private ulong engineInOrder;        // highest engine sequence received in order (our ack)
        // Engine sessions seen replaced by a newer one, the latest RetiredSessionsKept of them
        // (a ring): a frame of one is read late from a dead engine's connection and is dropped.
        private const int RetiredSessionsKept = 16;
        private readonly ulong[] retiredSessions = new ulong[RetiredSessionsKept];
        private int retiredCount;           // sessions ever retired; the ring holds the latest
        private long lastEngineFrameMs, lastSendMs, lastHelloMs;
        private bool helloDelivered;        // the last Hello probe left (TCP connected)
        private readonly Stopwatch clock = Stopwatch.StartNew();
        // The platform's connection as last reported (PlatformStatus): it follows every Hello.
        private readonly object statusLock = new object();
        private PlatformStatusRecord platformStatus;
        private bool hasPlatformStatus;
        // Stop(drainMs): until then the thread keeps sending and waits for the engine's
        // acknowledgement of every kept frame; what is left is UnsentFrames.
        private long drainUntilMs = -1;
        private volatile byte[][] unsent;

        // An order frame kept until the engine acknowledges it. Its sequence is given when it
        // is first sent (0 until then), so frames always leave in sequence order and a frame
        // that never left cannot be acknowledged by mistake; a resend keeps the original one.
        private sealed class Pending
        {
            public ulong Sequence;
            public byte[] Frame;
        }

        public Bridge(BridgeSettings settings, IBridgeHost host, HelloRecord hello, InstrumentDefinitionRecord[] instruments)
        {
            this.settings = settings;
            this.host = host;
            this.hello = hello;
            this.instruments = instruments;
            queue = new EventQueue(settings.QueueCapacity);
            var random = new byte[8];
            using (var rng = System.Security.Cryptography.RandomNumberGenerator.Create()) rng.GetBytes(random);
            sessionId = BitConverter.ToUInt64(random, 0) | 1UL;
            // Validate the texts now, on the caller's thread, so a bad account name is a clear
            // error at start-up and not a silent failure later.
            var probe = new byte[Wire.MaxRecordLength];
            hello.WriteTo(probe, 0);
            for (int i = 0; i < instruments.Length; i++) instruments[i].WriteTo(probe, 0);
        }

        public ulong SessionId { get { return sessionId; } }
        /// <summary>After the thread has ended: the order frames the engine never acknowledged
        /// (each a whole frame as sent or as it would have been sent), oldest first.</summary>
        public byte[][] UnsentFrames { get { return unsent ?? new byte[0][]; } }

        /// <summary>The platform's own connection, as PlatformStatus: kept for every later Hello
        /// and, with publish, queued for the engine now (any thread).</summary>
        public void SetPlatformStatus(PlatformStatusRecord status, bool publish)
        {
            lock (statusLock)
            {
                platformStatus = status;
                hasPlatformStatus = true;
            }
            if (publish) Publish(ref status);
        }
        public bool IsRunning { get { var t = thread; return t != null && t.IsAlive; } }
        public bool EngineConnected { get { return engineUp; } }

        public void Start()
        {
            thread = new Thread(Run);
            thread.IsBackground = true;   // never keeps NinjaTrader alive at exit
            thread.Name = "TickBridge";
            thread.Start();
        }

        /// <summary>Stops the thread and waits for it to close its sockets. Returns false when
        /// it did not finish in time (it then closes them itself as soon as it can).</summary>
        public bool Stop(int timeoutMs)
        {
            return Stop(timeoutMs, 0);
        }

        /// <summary>Stop, giving the thread up to drainMs first to send what is queued and to get
        /// the engine's acknowledgement of every kept frame (order events): with the engine up
        /// that takes a round trip, and nothing is left. What is still unacknowledged when the
        /// thread ends is in UnsentFrames (the caller keeps it: it is not lost silently).</summary>
        public bool Stop(int timeoutMs, int drainMs)
        {
            if (drainMs > 0) Interlocked.Exchange(ref drainUntilMs, clock.ElapsedMilliseconds + drainMs);
            stopping = true;
            var t = thread;
            if (t == null) return true;
            if (t == Thread.CurrentThread) return false;
            return t.Join(timeoutMs);
        }

        // ------------------------------------------------------------- producer side (any thread)

        /// <summary>Queues one record for the engine. Never blocks. Market data is dropped
        /// (counted) when the ring is full; order events spill to an unbounded side queue.</summary>
        public bool Publish<T>(ref T record) where T : struct, IRecord
        {
            try
            {
                if (queue.TryEnqueue(ref record)) return true;
                if (!Wire.MustBeDelivered(record.RecordTypeCode))
                {
                    Interlocked.Increment(ref MarketDataDropped);
                    return false;
                }
                // Order events are not dropped for a full queue: they wait beside it, bounded.
                if (Interlocked.Increment(ref spilledNow) > settings.MaxSpilledRecords)
                {
                    Interlocked.Decrement(ref spilledNow);
                    if (Interlocked.Increment(ref OrderEventsLost) % 10000 == 1)
                        host.Log("TickBridge: event queue and its spill area full (" + settings.MaxSpilledRecords
                                 + " order events): order events are being lost; the engine must reconcile (snapshot)");
                    return false;
                }
                var bytes = new byte[record.RecordLength];
                record.WriteTo(bytes, 0);
                overflow.Enqueue(bytes);
                Interlocked.Increment(ref OrderEventsSpilled);
                return true;
            }
            catch (ArgumentException e)
            {
                Interlocked.Increment(ref EncodeErrors);
                host.Log("TickBridge: " + Wire.NameOf(record.RecordTypeCode) + " not sent: " + e.Message);
                return false;
            }
        }

        public bool TryTakeCommand(out Command command)
        {
            return commands.TryDequeue(out command);
        }

        public bool TryPeekCommand(out Command command)
        {
            return commands.TryPeek(out command);
        }

        public bool HasCommands { get { return !commands.IsEmpty; } }

        public bool TryTakeKill(out Command command)
        {
            return kills.TryDequeue(out command);
        }

        /// <summary>Milliseconds on the clock that stamps Command.ReceivedMs.</summary>
        public long ElapsedMs { get { return clock.ElapsedMilliseconds; } }

        /// <summary>Answers a Kill on the kill endpoint (the strategy calls this after executing it).</summary>
        public void ReplyKill<T>(Command kill, ref T record) where T : struct, IRecord
        {
            var bytes = new byte[record.RecordLength];
            record.WriteTo(bytes, 0);
            killReplies.Enqueue(new KeyValuePair<byte[][], byte[]>(kill.KillEnvelope, bytes));
        }

        // ------------------------------------------------------------------------ bridge thread

        private long NowMs() { return clock.ElapsedMilliseconds; }

        private void Run()
        {
            Interlocked.Increment(ref RunningThreads);
            try
            {
                if (!OpenSockets_()) return;
                var sockets = killRouter != IntPtr.Zero ? new[] { dealer, killRouter } : new[] { dealer };
                var poller = new ZmqPoller(sockets);
                SendHello();
                while (!stopping || Draining())
                {
                    int ready = poller.Poll(settings.PollIntervalMs);
                    if (ready > 0)
                    {
                        if (poller.Readable(0)) ReceiveFromEngine();
                        if (sockets.Length > 1 && poller.Readable(1)) ReceiveKill();
                    }
                    SendKillReplies();
                    DrainQueue();
                    Timers();
                }
                // Last words: whatever is queued goes out if it can (never waits: linger 0).
                SendKillReplies();
                DrainQueue();
            }
            catch (Exception e)
            {
                host.Log("TickBridge: bridge thread failed: " + e);
            }
            finally
            {
                var left = new List<byte[]>();
                for (int i = 0; i < pending.Count; i++) left.Add(pending[i].Frame);
                unsent = left.ToArray();
                CloseSockets();
                Interlocked.Decrement(ref RunningThreads);
            }
        }

        // While stopping with a drain: go on until every kept frame is acknowledged (and the queue
        // is empty), the engine is down (nothing would be acknowledged), or the time is up.
        private bool Draining()
        {
            long until = Interlocked.Read(ref drainUntilMs);
            if (until < 0 || NowMs() >= until || !engineUp) return false;
            return pending.Count > 0 || queue.PeekOffset() >= 0 || !overflow.IsEmpty;
        }

        private bool OpenSockets_()
        {
            context = ZmqNative.zmq_ctx_new();
            dealer = ZmqNative.zmq_socket(context, ZmqNative.DEALER);
            Interlocked.Increment(ref OpenSockets);
            // Linger 0: an unclean NinjaTrader exit must not leave the port held.
            ZmqNative.SetInt(dealer, ZmqNative.LINGER, 0);
            // Immediate: a send with no engine connected fails at once (EAGAIN) instead of
            // queueing stale market data for a future engine; order frames are kept by us.
            ZmqNative.SetInt(dealer, ZmqNative.IMMEDIATE, 1);
            ZmqNative.SetInt(dealer, ZmqNative.SNDHWM, 100000);
            ZmqNative.SetInt(dealer, ZmqNative.RECONNECT_IVL, 100);
            bool curve = !string.IsNullOrEmpty(settings.CurveServerKey) || !string.IsNullOrEmpty(settings.CurveClientKey);
            if (curve && !SetCurveKeys())
            {
                // Not connected at all (the kill endpoint is still bound below).
            }
            else if (ZmqNative.zmq_connect(dealer, settings.EngineEndpoint) != 0)
            {
                host.Log("TickBridge: cannot connect to engine endpoint '" + settings.EngineEndpoint + "': " + ZmqNative.LastError());
                return false;
            }
            if (!string.IsNullOrEmpty(settings.KillEndpoint))
            {
                killRouter = ZmqNative.zmq_socket(context, ZmqNative.ROUTER);
                Interlocked.Increment(ref OpenSockets);
                ZmqNative.SetInt(killRouter, ZmqNative.LINGER, 0);
                if (ZmqNative.zmq_bind(killRouter, settings.KillEndpoint) != 0)
                {
                    // Survive a taken port: the engine link still works; say so loudly.
                    host.Log("TickBridge: kill endpoint '" + settings.KillEndpoint + "' not bound: " + ZmqNative.LastError()
                             + "; the kill switch works only from the chart button");
                    ZmqNative.zmq_close(killRouter);
                    Interlocked.Decrement(ref OpenSockets);
                    killRouter = IntPtr.Zero;
                }
                else if (string.IsNullOrEmpty(settings.KillSecret))
                {
                    host.Log("TickBridge: kill secret is empty: every Kill will be refused");
                }
            }
            host.Log("TickBridge: session " + sessionId.ToString("X16") + " connecting to " + settings.EngineEndpoint
                     + (killRouter != IntPtr.Zero ? ", kill endpoint " + settings.KillEndpoint : ""));
            return true;
        }

        // A CURVE client: the engine is who its public key says, and lets this shim in only if
        // its public key is on the engine's allow-list (curve_authorized_keys_dir).
        private bool SetCurveKeys()
        {
            string error;
            var keys = CurveKeys.Resolve(settings.CurveServerKey, settings.CurveClientKey, out error);
            if (keys != null && !(ZmqNative.SetZ85(dealer, ZmqNative.CURVE_SERVERKEY, keys.ServerPublic)
                                  && ZmqNative.SetZ85(dealer, ZmqNative.CURVE_PUBLICKEY, keys.ClientPublic)
                                  && ZmqNative.SetZ85(dealer, ZmqNative.CURVE_SECRETKEY, keys.ClientSecret)))
                error = ZmqNative.LastError();
            if (keys == null || error != null)
            {
                host.Log("TickBridge: CURVE keys: " + error + "; not connecting to the engine");
                return false;
            }
            host.Log("TickBridge: CURVE client, key " + keys.ClientPublic);
            return true;
        }

        private void CloseSockets()
        {
            if (dealer != IntPtr.Zero) { ZmqNative.zmq_close(dealer); dealer = IntPtr.Zero; Interlocked.Decrement(ref OpenSockets); }
            if (killRouter != IntPtr.Zero) { ZmqNative.zmq_close(killRouter); killRouter = IntPtr.Zero; Interlocked.Decrement(ref OpenSockets); }
            if (context != IntPtr.Zero) { ZmqNative.zmq_ctx_term(context); context = IntPtr.Zero; }
        }

        private bool Send(IntPtr socket, byte[] frame, int size, int flags)
        {
            while (true)
            {
                int rc = ZmqNative.zmq_send(socket, frame, (UIntPtr)size, flags | ZmqNative.DONTWAIT);
                if (rc >= 0) return true;
                if (ZmqNative.zmq_errno() != ZmqNative.EINTR) return false;
            }
        }

        private bool SendToEngine(byte[] frame, int size, uint records)
        {
            if (!Send(dealer, frame, size, 0)) return false;
            lastSendMs = NowMs();
            Interlocked.Increment(ref FramesSent);
            Interlocked.Add(ref RecordsSent, records);
            return true;
        }

        // Hello and every InstrumentDefinition, first on the link and again for a new engine session.
        private void SendHello()
        {
            writer.Begin();
            var h = hello;
            h.HeartbeatIntervalMs = (uint)settings.HeartbeatIntervalMs;
            writer.Append(ref h);
            for (int i = 0; i < instruments.Length; i++) writer.Append(ref instruments[i]);
            lock (statusLock)
            {
                // docs/protocol.md, PlatformStatus: "sent right after the Hello".
                if (hasPlatformStatus) writer.Append(ref platformStatus);
            }
            ulong sequence = lastSequence + 1;
            writer.Finish(sessionId, sequence, Wire.UtcNowNs());
            lastHelloMs = NowMs();
            helloDelivered = SendToEngine(writer.Buffer, writer.Size, writer.RecordCount);
            if (helloDelivered) lastSequence = sequence;
        }

        private void SendHeartbeat()
        {
            writer.Begin();
            var hb = new HeartbeatRecord();
            hb.AckSequence = engineInOrder;
            hb.TimeNs = Wire.UtcNowNs();
            writer.Append(ref hb);
            ulong sequence = lastSequence + 1;
            writer.Finish(sessionId, sequence, hb.TimeNs);
            if (SendToEngine(writer.Buffer, writer.Size, 1)) lastSequence = sequence;
        }

        private void Timers()
        {
            long now = NowMs();
            if (engineUp && now - lastEngineFrameMs > (long)settings.HeartbeatIntervalMs * settings.SilenceHeartbeats)
            {
                engineUp = false;
                host.Log("TickBridge: engine silent for " + (now - lastEngineFrameMs) + " ms ("
                         + settings.SilenceHeartbeats + " heartbeat intervals): link down"
                         + (settings.CancelOnDisconnect ? ", cancelling this strategy's working orders" : ""));
                if (settings.CancelOnDisconnect && !silenceReported)
                {
                    silenceReported = true;
                    host.EngineSilent();
                }
            }
            if (!engineUp)
            {
                // Probe with Hello: quickly while the TCP connection is not up (sends fail),
                // once per heartbeat interval once it is (an engine that is slow to answer).
                long every = helloDelivered ? settings.HeartbeatIntervalMs : 50;
                if (now - lastHelloMs >= every) SendHello();
            }
            else
            {
                if (nextToSend < pending.Count) SendBacklog();
                if (now - lastSendMs >= settings.HeartbeatIntervalMs) SendHeartbeat();
            }
        }

        // ---- outbound: queue -> frames

        private void DrainQueue()
        {
            bool reliable = false;
            writer.Begin();
            // Bounded per pass, so that producers faster than the network cannot keep this
            // thread from its sockets, timers and Stop.
            for (int taken = 0; taken < queue.Capacity; taken++)
            {
                byte[] source;
                int offset = queue.PeekOffset();
                bool fromRing = offset >= 0;
                if (fromRing)
                {
                    source = queue.Slots;
                }
                else
                {
                    if (!overflow.TryDequeue(out source)) break;
                    Interlocked.Decrement(ref spilledNow);
                    offset = 0;
                }
                ushort type = Wire.U16(source, offset);
                if (type != 0)
                {
                    bool mustDeliver = Wire.MustBeDelivered(type);
                    if (writer.RecordCount > 0 && (mustDeliver != reliable || writer.RecordCount >= settings.MaxRecordsPerFrame
                                                   || writer.Size > Wire.MaxFrameBytes / 2))
                    {
                        Flush(reliable);
                        writer.Begin();
                    }
                    reliable = mustDeliver;
                    writer.AppendRaw(source, offset);
                }
                if (fromRing) queue.Release();
            }
            if (writer.RecordCount > 0) Flush(reliable);
        }

        private void Flush(bool reliable)
        {
            if (reliable)
            {
                // Order events are kept until acknowledged; the sequence is set when sent.
                writer.Finish(sessionId, 0, Wire.UtcNowNs());
                var p = new Pending();
                p.Frame = writer.ToArray();
                pending.Add(p);
                pendingBytes += p.Frame.Length;
                while (pendingBytes > settings.MaxUnackedBytes && pending.Count > 1)
                {
                    pendingBytes -= pending[0].Frame.Length;
                    pending.RemoveAt(0);
                    if (nextToSend > 0) nextToSend--;
                    if (Interlocked.Increment(ref EvictedFrames) % 1000 == 1)
                        host.Log("TickBridge: more than " + (settings.MaxUnackedBytes >> 20)
                                 + " MiB of unacknowledged order frames: the oldest are dropped; the engine must reconcile (snapshot)");
                }
                if (engineUp) SendBacklog();
                return;
            }
            // Market data: sent only when the engine is up and no order frame waits before it
            // (frames leave in sequence order); otherwise dropped, without using a sequence.
            if (!engineUp || nextToSend < pending.Count)
            {
                Interlocked.Add(ref MarketDataDropped, writer.RecordCount);
                return;
            }
            ulong next = lastSequence + 1;
            writer.Finish(sessionId, next, Wire.UtcNowNs());
            if (SendToEngine(writer.Buffer, writer.Size, writer.RecordCount)) lastSequence = next;
            else Interlocked.Add(ref MarketDataDropped, writer.RecordCount);
        }

        private void SendBacklog()
        {
            while (nextToSend < pending.Count)
            {
                Pending p = pending[nextToSend];
                bool first = p.Sequence == 0;
                if (first)
                {
                    Wire.PutU64(p.Frame, 16, lastSequence + 1);
                    Wire.PutI64(p.Frame, 24, Wire.UtcNowNs());
                }
                if (!SendToEngine(p.Frame, p.Frame.Length, Wire.U32(p.Frame, 32))) return;
                if (first) p.Sequence = ++lastSequence;
                nextToSend++;
            }
        }

        // ---- inbound: engine frames

        private void ReceiveFromEngine()
        {
            while (true)
            {
                int size = ZmqNative.zmq_recv(dealer, receiveBuffer, (UIntPtr)receiveBuffer.Length, ZmqNative.DONTWAIT);
                if (size < 0) return;
                while (ZmqNative.HasMore(dealer))
                {
                    // One frame is one single-part message: drop the rest of a multi-part one.
                    ZmqNative.zmq_recv(dealer, receiveBuffer, (UIntPtr)receiveBuffer.Length, ZmqNative.DONTWAIT);
                    size = -1;
                }
                if (size < 0)
                {
                    Interlocked.Increment(ref MalformedFrames);
                    host.Log("TickBridge: engine sent a multi-part message; ignored (one frame is one part)");
                    continue;
                }
                HandleEngineFrame(Math.Min(size, receiveBuffer.Length));
            }
        }

        private void HandleEngineFrame(int size)
        {
            FrameHeader header;
            try
            {
                header = FrameDecoder.Validate(receiveBuffer, size);
            }
            catch (ProtocolException e)
            {
                Interlocked.Increment(ref MalformedFrames);
                host.Log("TickBridge: engine frame refused whole, " + e.Message);
                return;
            }
            if (IsRetiredSession(header.SessionId))
            {
                // A frame of an engine that has since restarted, read late from its dead
                // connection (ZeroMQ queues): its commands must not act after the new engine
                // compared this platform's orders, or the new one never learns of them (and a
                // copier's sync sends them again). Not acknowledged, not executed.
                Interlocked.Increment(ref RetiredSessionFrames);
                host.Log("TickBridge: frame " + header.Sequence + " of engine session " + header.SessionId.ToString("X16")
                         + ", replaced by " + engineSession.ToString("X16") + ": ignored");
                return;
            }
            bool firstContact = engineSession == 0;
            bool newSession = header.SessionId != engineSession;
            if (newSession)
            {
                if (!firstContact)
                {
                    host.Log("TickBridge: new engine session " + header.SessionId.ToString("X16") + " (was "
                             + engineSession.ToString("X16") + "): Hello again, resending "
                             + pending.Count + " unacknowledged frames");
                    retiredSessions[retiredCount++ % RetiredSessionsKept] = engineSession;
                }
                engineSession = header.SessionId;
                engineInOrder = header.Sequence;
            }
            else if (header.Sequence == engineInOrder + 1)
            {
                engineInOrder = header.Sequence;
            }
            else
            {
                host.Log("TickBridge: engine frame sequence " + header.Sequence + " after " + engineInOrder
                         + " (gap or repeat); continuing from it");
                if (header.Sequence > engineInOrder) engineInOrder = header.Sequence;
            }
            lastEngineFrameMs = NowMs();
            bool wasDown = !engineUp;
            engineUp = true;
            silenceReported = false;
            if (newSession)
            {
                // A restarted engine: Hello again (the first engine just answered ours), then
                // every unacknowledged frame, sent ones with their original sequence.
                if (!firstContact) SendHello();
                nextToSend = 0;
            }
            else if (wasDown)
            {
                host.Log("TickBridge: engine heard again; resending " + pending.Count + " unacknowledged frames");
                nextToSend = 0;
            }

            bool anyCommand = false;
            int offset = Wire.FrameHeaderSize;
            for (uint i = 0; i < header.RecordCount; i++)
            {
                ushort type = Wire.U16(receiveBuffer, offset);
                int length = Wire.U16(receiveBuffer, offset + 2);
                if (type == RecordType.Heartbeat)
                    Acknowledge(HeartbeatRecord.Read(receiveBuffer, offset).AckSequence);
                else
                {
                    var command = DecodeCommand(receiveBuffer, offset, type);
                    if (command != null) { command.ReceivedMs = NowMs(); commands.Enqueue(command); anyCommand = true; }
                    else if (type == RecordType.TradingState)
                    {
                        var state = TradingStateRecord.Read(receiveBuffer, offset);
                        host.TradingStateArrived(state.State, state.Reason);
                    }
                    else if (type == RecordType.Kill) RefuseKillOnEngineLink(KillRecord.Read(receiveBuffer, offset).RequestId);
                    else host.Log("TickBridge: engine sent a " + Wire.NameOf(type) + " record, which only a shim sends; ignored");
                }
                offset += length;
            }
            if (nextToSend < pending.Count) SendBacklog();
            if (anyCommand) host.CommandsArrived();
        }

        private bool IsRetiredSession(ulong session)
        {
            int held = Math.Min(retiredCount, RetiredSessionsKept);
            for (int i = 0; i < held; i++)
                if (retiredSessions[i] == session) return true;
            return false;
        }

        // Kill travels on the kill endpoint only (its own socket, so it works with the engine
        // link hung); one on the engine link is answered, not executed.
        private void RefuseKillOnEngineLink(ulong requestId)
        {
            host.Log("TickBridge: Kill request " + requestId + " on the engine link refused: send it to the kill endpoint");
            var reject = new CommandRejectRecord();
            reject.RequestId = requestId;
            reject.CommandType = RecordType.Kill;
            reject.Reason = (ushort)RejectReason.Malformed;
            reject.Text = "Kill is accepted on the kill endpoint only";
            Publish(ref reject);
        }

        private static Command DecodeCommand(byte[] b, int o, ushort type)
        {
            var c = new Command();
            c.Type = type;
            c.InstrumentId = Wire.U32(b, o + 4);
            switch (type)
            {
                case RecordType.Submit:
                {
                    var r = SubmitRecord.Read(b, o);
                    c.RequestId = r.RequestId; c.ClientOrderId = r.ClientOrderId; c.Price = r.Price; c.StopPrice = r.StopPrice;
                    c.Quantity = r.Quantity; c.Side = r.Side; c.OrderType = r.OrderType; c.TimeInForce = r.TimeInForce;
                    return c;
                }
                case RecordType.Cancel:
                {
                    var r = CancelRecord.Read(b, o);
                    c.RequestId = r.RequestId; c.ClientOrderId = r.ClientOrderId;
                    return c;
                }
                case RecordType.Replace:
                {
                    var r = ReplaceRecord.Read(b, o);
                    c.RequestId = r.RequestId; c.ClientOrderId = r.ClientOrderId; c.Price = r.Price; c.StopPrice = r.StopPrice;
                    c.Quantity = r.Quantity;
                    return c;
                }
                case RecordType.CancelAll:
                    c.RequestId = CancelAllRecord.Read(b, o).RequestId;
                    return c;
                case RecordType.Flatten:
                    c.RequestId = FlattenRecord.Read(b, o).RequestId;
                    return c;
                case RecordType.SnapshotRequest:
                {
                    var r = SnapshotRequestRecord.Read(b, o);
                    c.RequestId = r.RequestId; c.What = r.What; c.FillsSinceNs = r.FillsSinceNs;
                    return c;
                }
                default:
                    return null;   // Kill is accepted on the kill endpoint only
            }
        }

        private void Acknowledge(ulong ackSequence)
        {
            int acknowledged = 0;
            while (acknowledged < pending.Count && pending[acknowledged].Sequence != 0
                   && pending[acknowledged].Sequence <= ackSequence) acknowledged++;
            if (acknowledged == 0) return;
            for (int i = 0; i < acknowledged; i++) pendingBytes -= pending[i].Frame.Length;
            pending.RemoveRange(0, acknowledged);
            nextToSend = Math.Max(0, nextToSend - acknowledged);
        }

        // ---- kill endpoint

        private void ReceiveKill()
        {
            while (true)
            {
                var parts = new List<byte[]>();
                int size = ZmqNative.zmq_recv(killRouter, receiveBuffer, (UIntPtr)receiveBuffer.Length, ZmqNative.DONTWAIT);
                if (size < 0) return;
                // ROUTER: [peer identity, (empty delimiter from a REQ client), frame]
                while (ZmqNative.HasMore(killRouter))
                {
                    parts.Add(Copy(receiveBuffer, Math.Min(size, receiveBuffer.Length)));
                    size = ZmqNative.zmq_recv(killRouter, receiveBuffer, (UIntPtr)receiveBuffer.Length, 0);
                    if (size < 0) return;
                }
                HandleKillFrame(parts.ToArray(), Math.Min(size, receiveBuffer.Length));
            }
        }

        private static byte[] Copy(byte[] source, int size)
        {
            var copy = new byte[size];
            Buffer.BlockCopy(source, 0, copy, 0, size);
            return copy;
        }

        private void HandleKillFrame(byte[][] envelope, int size)
        {
            FrameHeader header;
            try
            {
                header = FrameDecoder.Validate(receiveBuffer, size);
            }
            catch (ProtocolException e)
            {
                Interlocked.Increment(ref MalformedFrames);
                host.Log("TickBridge: kill endpoint frame refused whole, " + e.Message);
                QueueKillReject(envelope, 0, 0, RejectReason.Malformed, e.Message);
                return;
            }
            bool anyCommand = false;
            int offset = Wire.FrameHeaderSize;
            for (uint i = 0; i < header.RecordCount; i++)
            {
                ushort type = Wire.U16(receiveBuffer, offset);
                if (type == RecordType.Kill)
                {
                    var kill = KillRecord.Read(receiveBuffer, offset);
                    if (!SecretMatches(receiveBuffer, offset + 24))
                    {
                        host.Log("TickBridge: Kill request " + kill.RequestId + " refused: bad secret");
                        QueueKillReject(envelope, kill.RequestId, RecordType.Kill, RejectReason.BadSecret, "bad secret");
                    }
                    else
                    {
                        var c = new Command();
                        c.Type = RecordType.Kill;
                        c.RequestId = kill.RequestId;
                        c.Flatten = kill.Flatten != 0;
                        c.KillEnvelope = envelope;
                        c.ReceivedMs = NowMs();
                        kills.Enqueue(c);
                        anyCommand = true;
                        host.Log("TickBridge: Kill request " + kill.RequestId + " accepted (flatten=" + c.Flatten + ")");
                    }
                }
                else if (type != RecordType.Heartbeat)
                {
                    QueueKillReject(envelope, 0, type, RejectReason.Malformed, "only Kill is accepted on the kill endpoint");
                }
                offset += Wire.U16(receiveBuffer, offset + 2);
            }
            if (anyCommand) host.KillArrived();
        }

        // Constant-time comparison of the 32-byte NUL-padded secret field.
        private bool SecretMatches(byte[] b, int o)
        {
            var expected = new byte[32];
            if (string.IsNullOrEmpty(settings.KillSecret)) return false;
            var secret = System.Text.Encoding.UTF8.GetBytes(settings.KillSecret);
            if (secret.Length > 32) return false;
            Buffer.BlockCopy(secret, 0, expected, 0, secret.Length);
            int difference = 0;
            for (int i = 0; i < 32; i++) difference |= expected[i] ^ b[o + i];
            return difference == 0;
        }

        private void QueueKillReject(byte[][] envelope, ulong requestId, ushort commandType, RejectReason reason, string text)
        {
            var reject = new CommandRejectRecord();
            reject.RequestId = requestId;
            reject.CommandType = commandType;
            reject.Reason = (ushort)reason;
            reject.Text = text.Length > 60 ? text.Substring(0, 60) : text;   // free text; ASCII
            var bytes = new byte[CommandRejectRecord.Length];
            reject.WriteTo(bytes, 0);
            killReplies.Enqueue(new KeyValuePair<byte[][], byte[]>(envelope, bytes));
        }

        private void SendKillReplies()
        {
            KeyValuePair<byte[][], byte[]> reply;
            while (killReplies.TryDequeue(out reply))
            {
                if (killRouter == IntPtr.Zero || reply.Key == null) continue;
                var kw = new FrameWriter(256);
                kw.Begin();
                kw.AppendRaw(reply.Value, 0);
                kw.Finish(sessionId, ++killSequence, Wire.UtcNowNs());
                for (int i = 0; i < reply.Key.Length; i++)
                    if (!Send(killRouter, reply.Key[i], reply.Key[i].Length, ZmqNative.SNDMORE)) break;
                Send(killRouter, kw.Buffer, kw.Size, 0);
            }
        }
    }
}
