// tickbridge dashboard: the engine's view pushed by Server-Sent Events (/api/stream);
// no polling loop, no third-party code. One clock: every time shown is the engine's wall
// clock (UTC ns), displayed in the exchange's time zone, UTC on hover.
"use strict";

let me = { access: "read", exchange_tz: "America/Chicago", accounts: [] };
let timelineOrder = null;
let pnlLine = [];  // [engine wall ns, USD]: the history with the first frame, then a point each
const PNL_POINTS = 600;

const $ = (id) => document.getElementById(id);

function fmtTime(ns, withDate) {
  if (ns === null || ns === undefined) return { text: "", utc: "" };
  const date = new Date(Number(ns) / 1e6);
  const options = { timeZone: me.exchange_tz, hour12: false, hour: "2-digit",
                    minute: "2-digit", second: "2-digit" };
  if (withDate) { options.month = "2-digit"; options.day = "2-digit"; }
  const text = new Intl.DateTimeFormat("en-GB", options).format(date) + "." +
    String(date.getUTCMilliseconds()).padStart(3, "0");
  return { text: text, utc: date.toISOString().replace("T", " ").replace("Z", " UTC") };
}

function num(value, digits) {
  if (value === null || value === undefined) return "";
  return Number(value).toLocaleString("en-US", { minimumFractionDigits: digits,
                                                  maximumFractionDigits: digits });
}

// A table body from rows of cells; a cell is text or {text, cls, title}.
function fill(tableId, rows, rowInit) {
  const body = $(tableId).tBodies[0];
  const fresh = document.createElement("tbody");
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const cell of row.cells) {
      const td = document.createElement("td");
      const c = (cell !== null && typeof cell === "object") ? cell : { text: cell };
      td.textContent = c.text === undefined || c.text === null ? "" : String(c.text);
      if (c.cls) td.className = c.cls;
      if (c.title) td.title = c.title;
      if (c.key) td.dataset.key = c.key;
      tr.appendChild(td);
    }
    if (rowInit) rowInit(tr, row);
    fresh.appendChild(tr);
  }
  body.replaceWith(fresh);
}

function timeCell(ns, withDate) {
  const t = fmtTime(ns, withDate);
  return { text: t.text, title: t.utc };
}

function money(value) {
  return { text: num(value, 2), cls: value > 0 ? "pos" : value < 0 ? "neg" : "" };
}

function render(frame) {
  const up = frame.engine === "up";
  const link = $("engine-link");
  link.textContent = up ? "engine up" : frame.engine === "refused" ? "engine REFUSED" :
    "engine DOWN";
  link.className = "badge " + (up ? "up" : "down");
  const clock = fmtTime(frame.now_ns, true);
  $("clock").textContent = clock.text + " " + me.exchange_tz;
  $("clock").title = clock.utc;
  const client = frame.client || { dropped: 0 };
  $("feed-stats").textContent = "frames dropped: " + client.dropped;
  if (frame.pnl_line) pnlLine = frame.pnl_line.slice();
  else if (frame.pnl_point) pnlLine.push(frame.pnl_point);
  if (pnlLine.length > PNL_POINTS) pnlLine.splice(0, pnlLine.length - PNL_POINTS);
  drawPnl(pnlLine);
  if (!up) {
    const since = fmtTime(frame.down_since_ns, false);
    link.title = (frame.error || "") + " (since " + since.text + ")";
    fill("links", [], null);
    return;
  }
  link.title = "";
  $("mode").textContent = frame.mode;
  $("banner").classList.toggle("live", !!frame.live);
  $("kill-button").classList.toggle("live", !!frame.live);
  const state = $("trading-state");
  state.textContent = frame.trading_state;
  state.className = "badge " + frame.trading_state;

  fill("links", frame.links.map((l) => ({ cells: [
    l.name, l.platform, l.account, l.mode.toUpperCase(),
    { text: l.state, cls: l.state === "CONFIRMED" || l.state === "ACCEPTED" ? "" : "bad",
      key: "link-state" },
    l.heartbeat_age_ms, l.unacknowledged, l.outbox, l.resent, l.gaps,
    l.account_state || "", { text: l.refusal || "", cls: l.refusal ? "bad" : "" }] })));

  fill("positions", frame.positions.map((p) => ({ p: p, cells: [
    p.account, p.symbol, { text: p.engine, key: "engine" },
    { text: p.platform === null ? "?" : p.platform, key: "platform" },
    num(p.avg_price, 2), num(p.last_price, 2), money(p.realized_pnl),
    money(p.unrealized_pnl)] })), (tr, row) => {
    tr.dataset.symbol = row.p.symbol;
    if (row.p.drift) { tr.classList.add("drift"); tr.title = "engine and platform differ"; }
  });

  fill("orders", frame.orders.map((o) => ({ o: o, cells: [
    o.client_order_id, o.symbol, o.side, o.type, { text: o.status, key: "status" }, o.qty,
    o.filled, o.leaves, num(o.price, 2), num(o.age_ms / 1000, 1)] })), (tr, row) => {
    tr.dataset.order = row.o.client_order_id;
    tr.classList.add("clickable");
    tr.addEventListener("click", () => showTimeline(row.o.client_order_id));
  });

  fill("fills", frame.fills.map((f) => ({ f: f, cells: [
    timeCell(f.time_ns), f.client_order_id, f.symbol, f.side, f.qty, num(f.price, 2)] })),
    (tr, row) => {
      tr.dataset.order = row.f.client_order_id;
      tr.classList.add("clickable");
      tr.addEventListener("click", () => showTimeline(row.f.client_order_id));
    });

  const limit = (used, max) => (max ? used + " / " + max : used + " / -");
  const over = (used, max) => (max && used >= max ? "bad" : "");
  fill("risk-accounts", frame.risk.accounts.map((a) => ({ cells: [
    a.account, a.trading_state,
    { text: limit(a.position, a.max_position), cls: over(a.position, a.max_position) },
    { text: limit(num(a.daily_loss, 2), a.daily_loss_limit && num(a.daily_loss_limit, 2)),
      cls: over(a.daily_loss, a.daily_loss_limit) },
    limit(a.orders.second, a.max_orders.second), limit(a.orders.minute, a.max_orders.minute),
    limit(a.orders.hour, a.max_orders.hour)] })));
  fill("risk-instruments", frame.risk.instruments.map((i) => ({ cells: [
    i.symbol, { text: limit(i.position, i.max_position), cls: over(i.position, i.max_position) },
    i.max_order_qty, i.band_refusals] })));

  fill("refusals", frame.refusals.map((r) => ({ cells: [
    timeCell(r.time_ns), r.strategy, r.symbol, { text: r.code, cls: "bad", key: "code" },
    { text: r.text, key: "text" }] })));
}

// The PnL line, drawn by the page itself: x the engine's wall clock, y USD.
function drawPnl(points) {
  const canvas = $("pnl");
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 560, h = canvas.clientHeight || 180;
  if (canvas.width !== w * ratio) { canvas.width = w * ratio; canvas.height = h * ratio; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui, sans-serif";
  if (points.length < 2) {
    ctx.fillStyle = "#8a94a3";
    ctx.fillText("waiting for data", 10, 20);
    return;
  }
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  let lo = Math.min(0, ...points.map((p) => p[1]));
  let hi = Math.max(0, ...points.map((p) => p[1]));
  if (hi - lo < 1) { hi += 0.5; lo -= 0.5; }
  const left = 60, right = w - 8, top = 8, bottom = h - 18;
  const x = (t) => left + (t1 === t0 ? 0 : (t - t0) / (t1 - t0)) * (right - left);
  const y = (v) => bottom - (v - lo) / (hi - lo) * (bottom - top);
  ctx.strokeStyle = "#30363d";
  ctx.beginPath(); ctx.moveTo(left, y(0)); ctx.lineTo(right, y(0)); ctx.stroke();
  ctx.fillStyle = "#8a94a3";
  ctx.fillText(num(hi, 0), 4, top + 8);
  ctx.fillText(num(lo, 0), 4, bottom);
  ctx.fillText("0", 4, y(0) + 4);
  ctx.fillText(fmtTime(t0).text.slice(0, 8), left, h - 4);
  ctx.fillText(fmtTime(t1).text.slice(0, 8), right - 50, h - 4);
  const last = points[points.length - 1][1];
  ctx.strokeStyle = last >= 0 ? "#3fb950" : "#f85149";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(x(p[0]), y(p[1])) : ctx.moveTo(x(p[0]), y(p[1]))));
  ctx.stroke();
}

async function showTimeline(orderId) {
  timelineOrder = orderId;
  $("timeline-order").textContent = orderId;
  const reply = await fetch("/api/orders/" + encodeURIComponent(orderId) + "/timeline");
  const body = await reply.json();
  if (!body.ok) { fill("timeline", [{ cells: ["", "error", body.error] }]); return; }
  fill("timeline", body.records.map((r) => ({ cells: [
    timeCell(r.time_ns, true), { text: r.kind, key: "kind" }, r.summary] })));
}

async function post(path, body) {
  const reply = await fetch(path, { method: "POST", body: JSON.stringify(body),
                                    headers: { "content-type": "application/json" } });
  let answer;
  try { answer = await reply.json(); } catch (e) { answer = { ok: false, error: reply.statusText }; }
  return answer;
}

function say(text, bad) {
  const out = $("action-result");
  out.textContent = text;
  out.className = bad ? "bad" : "";
}

async function askKill() {
  const plan = await post("/api/kill", { flatten: $("kill-flatten").checked,
                                         account: $("kill-account").value || null });
  if (!plan.ok) { say("kill refused: " + plan.error, true); return; }
  $("kill-text").textContent = plan.text;
  $("kill-confirm").dataset.confirm = plan.confirm;
  $("kill-dialog").classList.remove("hidden");
}

async function confirmKill() {
  const id = $("kill-confirm").dataset.confirm;
  $("kill-dialog").classList.add("hidden");
  say("kill running…", false);
  const result = await post("/api/kill/confirm", { confirm: id });
  if (result.outcomes) {
    say((result.ok ? "KILL done: " : "KILL incomplete: ") + result.outcomes.map(
      (o) => o.path + " " + o.target + " " + (o.ok ? "ok" : "FAILED") + " (" + o.detail + ")")
      .join("; "), !result.ok);
  } else {
    say("kill failed: " + result.error, true);
  }
}

async function setState() {
  const result = await post("/api/state", { state: $("state-select").value,
                                            account: $("state-account").value || null });
  say(result.ok ? "trading state " + result.trading_state : "refused: " + result.error,
      !result.ok);
}

async function start() {
  me = await (await fetch("/api/whoami")).json();
  $("access").textContent = me.access + " token " + me.token_id;
  for (const id of ["kill-account", "state-account"]) {
    for (const account of me.accounts) {
      const option = document.createElement("option");
      option.value = option.textContent = account;
      $(id).appendChild(option);
    }
  }
  const trade = me.access === "trade";
  for (const id of ["kill-button", "state-apply"]) $(id).disabled = !trade;
  if (!trade) $("kill-button").title = "this token may only read";
  $("kill-button").addEventListener("click", askKill);
  $("kill-confirm").addEventListener("click", confirmKill);
  $("kill-cancel").addEventListener("click", () => $("kill-dialog").classList.add("hidden"));
  $("state-apply").addEventListener("click", setState);
  $("timeline-show").addEventListener("click", () => showTimeline($("timeline-input").value));
  const stream = new EventSource("/api/stream");
  stream.onmessage = (event) => render(JSON.parse(event.data));
  stream.onerror = () => {
    const link = $("engine-link");
    link.textContent = "dashboard unreachable";
    link.className = "badge down";
  };
}

document.addEventListener("DOMContentLoaded", start);
