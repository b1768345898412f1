"""The kill switch's two independent paths: the engine's control socket, and a Kill frame
straight to each shim's own kill endpoint, which works with the engine hung or dead.

When the engine does not answer, the action cannot go into its audit chain (one writer
keeps the chain whole), so it is appended to a journal beside the state store, fsynced,
and moved into the chain by the engine at its next start (``read_kill_journal``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq

from tickbridge.protocol import ProtocolError, RecordType, RejectReason, decode_frame, encode_frame
from tickbridge.protocol import make_record as _record

if TYPE_CHECKING:
    from tickbridge.config.models import TickbridgeConfig

log = logging.getLogger("tickbridge.kill")


@dataclass
class KillOutcome:
    path: str  # "engine" or "shim"
    target: str  # the shim's name, or the engine's control endpoint
    endpoint: str
    ok: bool
    detail: str
    accounts: tuple[str, ...] = ()  # engine path: the accounts whose shims it reached


@dataclass
class ShimTarget:
    name: str
    endpoint: str
    secret: str
    accounts: tuple[str, ...] = ()  # the config's accounts held by this shim


def kill_via_engine(endpoint: str, *, flatten: bool, account: str | None,
                    timeout_s: float, token: str | None = None,
                    source: str = "kill cli") -> KillOutcome:
    """``token``: a control client's with the trade role or higher (a kill tightens);
    ``source``: who asked, for the engine's audit record."""
    from tickbridge.engine.control import ControlClient, ControlError

    client = ControlClient(endpoint, timeout_ms=int(timeout_s * 1000), token=token)
    try:
        reply = client.request("kill", flatten=flatten, account=account, source=source)
    except ControlError as e:
        return KillOutcome("engine", "engine", endpoint, False, str(e))
    if not reply.get("ok"):
        return KillOutcome("engine", "engine", endpoint, False, str(reply.get("error")))
    shims = ", ".join(reply.get("shims") or []) or "no shims connected"
    return KillOutcome("engine", "engine", endpoint, True,
                       f"trading {reply.get('trading_state')}; cancel-all"
                       f"{' and flatten' if flatten else ''} sent to {shims}",
                       tuple(reply.get("accounts") or ()))


def kill_at_shim(target: ShimTarget, *, flatten: bool, timeout_s: float,
                 context: zmq.Context | None = None) -> KillOutcome:
    """One Kill record to the shim's kill endpoint; the shim's CommandAck says it canceled
    (and flattened); a CommandReject or silence says it did not."""
    secret = target.secret.encode()
    if not secret:
        return KillOutcome("shim", target.name, target.endpoint, False, "no kill secret")
    if len(secret) > 32:
        return KillOutcome("shim", target.name, target.endpoint, False,
                           "kill secret longer than 32 bytes")
    request_id = time.time_ns() & ((1 << 62) - 1)
    socket = (context or zmq.Context.instance()).socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.IPV6, 1)  # an IPv6 endpoint connects too
    try:
        socket.connect(target.endpoint)
        socket.send(encode_frame(
            [_record(RecordType.KILL, request_id=request_id, flatten=int(flatten), secret=secret)],
            session_id=int.from_bytes(os.urandom(8), "little") or 1, sequence=1,
            send_time_ns=time.time_ns()))
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if not socket.poll(int(left * 1000) + 1):
                break
            payload = socket.recv()
            try:
                records = list(decode_frame(payload))
            except ProtocolError as e:
                return KillOutcome("shim", target.name, target.endpoint, False,
                                   f"malformed answer: {e}")
            for rtype, rec in records:
                if int(rec["request_id"]) != request_id:
                    continue
                if rtype == RecordType.COMMAND_ACK:
                    return KillOutcome("shim", target.name, target.endpoint, True,
                                       "canceled every working order"
                                       + (" and flattened" if flatten else ""))
                if rtype == RecordType.COMMAND_REJECT:
                    reason = int(rec["reason"])
                    name = (RejectReason(reason).name if reason in RejectReason._value2member_map_
                            else str(reason))
                    text = bytes(rec["text"]).rstrip(b"\0").decode("utf-8", "replace")
                    return KillOutcome("shim", target.name, target.endpoint, False,
                                       f"refused: {name} ({text})")
        return KillOutcome("shim", target.name, target.endpoint, False,
                           f"no answer within {timeout_s:g} s (shim not running, not "
                           "reachable, or its platform has not run the kill yet)")
    finally:
        socket.close(0)


def shim_targets(config: TickbridgeConfig, account: str | None) -> list[ShimTarget]:
    """The shims that hold ``account`` (every shim when None)."""
    if account is None:
        wanted = {s.name for s in config.shims}
    else:
        wanted = {a.shim for a in config.accounts if a.name == account and a.shim}
    return [ShimTarget(s.name, s.kill_endpoint, s.kill_secret.get_secret_value(),
                       tuple(a.name for a in config.accounts if a.shim == s.name))
            for s in config.shims if s.name in wanted]


def direct_flatten(target: ShimTarget, engine: KillOutcome | None) -> bool:
    """Whether the direct Kill to ``target`` should flatten too. Not when the engine has
    just sent that shim a Flatten: a flatten is not idempotent on a platform (two racing
    ones each close the position, which reverses it), while cancel-all is. The direct
    Kill still cancels everything, so the shim is reached by both paths either way."""
    return not (engine is not None and engine.ok
                and set(target.accounts) & set(engine.accounts))


# -- the journal for when the engine cannot audit ------------------------------------------
def journal_path(store_path: str | Path) -> Path:
    return Path(f"{store_path}.kill-journal.jsonl")


def journal_kill(store_path: str | Path, *, flatten: bool, account: str | None,
                 outcomes: list[KillOutcome], source: str | None = None) -> Path:
    """``source``: who asked, when not the kill CLI (the dashboard, with its token id)."""
    path = journal_path(store_path)
    entry: dict[str, Any] = {"wall_ns": time.time_ns(), "flatten": flatten, "account": account,
                             "outcomes": [asdict(o) for o in outcomes]}
    if source is not None:
        entry["source"] = f"{source} (engine not answering)"
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return path


def read_kill_journal(store_path: str | Path) -> list[dict[str, Any]]:
    """The journaled kill actions, oldest first. A torn last line (a crash mid-write) is
    kept as text. The caller audits them, waits until that is durable, then clears."""
    path = journal_path(store_path)
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except ValueError:
            entries.append({"unreadable": line})
    return entries


def clear_kill_journal(store_path: str | Path) -> None:
    journal_path(store_path).unlink(missing_ok=True)
