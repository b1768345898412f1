"""What an audit record is about. Stored as the lowercase name; the set is open (a new
layer may add kinds) but these are the ones the engine writes."""

from __future__ import annotations

from enum import Enum


class AuditKind(str, Enum):
    REQUEST = "request"            # an order intent or command asked of the engine
    RESPONSE = "response"          # a shim's ack / reject / order update received
    COMMAND = "command"            # a command the engine sent to a shim
    RISK_DECISION = "risk_decision"
    TRANSITION = "transition"      # an order state machine step (applied or refused)
    FILL = "fill"                  # a fill booked (or refused as a duplicate)
    ORDER = "order"                # an order row as the store wrote it, with its transitions
    POSITION = "position"          # a position set directly (not from fills)
    DRIFT = "drift"                # a reconciliation difference
    RECONCILE_ACTION = "reconcile_action"
    CONFIG_CHANGE = "config_change"
    KILL = "kill"
    SESSION = "session"            # engine start/stop, shim hello, sequence resync

    def __str__(self) -> str:
        return self.value
