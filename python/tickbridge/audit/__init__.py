"""Audit log: append-only, hash-chained records kept in the state store's SQLite file and
written through its group-commit writer (``StateStore.audit``). See docs/state-and-audit.md.
"""

from tickbridge.audit.chain import GENESIS_HASH, canonical_bytes, canonical_payload, record_hash
from tickbridge.audit.kinds import AuditKind
from tickbridge.audit.query import AuditRecord, read_records
from tickbridge.audit.timeline import TimelineRow, format_timeline, order_timeline
from tickbridge.audit.verify import ChainBreak, VerifyResult, verify_chain

__all__ = [
    "GENESIS_HASH",
    "AuditKind",
    "AuditRecord",
    "ChainBreak",
    "TimelineRow",
    "VerifyResult",
    "canonical_bytes",
    "canonical_payload",
    "format_timeline",
    "order_timeline",
    "read_records",
    "record_hash",
    "verify_chain",
]
