"""Audit log: append-only, hash-chained records kept in the state store's SQLite file and
written through its group-commit writer (``StateStore.audit``). See docs/state-and-audit.md.
"""

from tickbridge.audit.anchor import WitnessError, WitnessHead, read_witness, witness_path
from tickbridge.audit.chain import GENESIS_HASH, canonical_bytes, canonical_payload, record_hash
from tickbridge.audit.crosscheck import CrossCheck, cross_check
from tickbridge.audit.kinds import AuditKind
from tickbridge.audit.query import AuditRecord, read_records
from tickbridge.audit.timeline import TimelineRow, format_timeline, order_timeline
from tickbridge.audit.verify import (
    ChainBreak,
    StoreVerdict,
    VerifyResult,
    WitnessCheck,
    verify_chain,
    verify_store,
)

__all__ = [
    "GENESIS_HASH",
    "AuditKind",
    "AuditRecord",
    "ChainBreak",
    "CrossCheck",
    "StoreVerdict",
    "TimelineRow",
    "VerifyResult",
    "WitnessCheck",
    "WitnessError",
    "WitnessHead",
    "canonical_bytes",
    "canonical_payload",
    "cross_check",
    "format_timeline",
    "order_timeline",
    "read_records",
    "read_witness",
    "record_hash",
    "verify_chain",
    "verify_store",
    "witness_path",
]
