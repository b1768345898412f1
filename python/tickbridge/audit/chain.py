"""The audit hash chain: how a record's bytes and hash are defined.

    canonical = UTF-8 of: the compact JSON array
                [id, wall_ns, mono_ns, kind, client_order_id, account]
                (no spaces, non-ASCII kept as UTF-8, client_order_id null when none),
                then one newline (0x0A), then the stored payload text exactly
    hash      = SHA-256( bytes.fromhex(prev_hash) || canonical ), stored as lowercase hex
    prev_hash = the previous record's hash; GENESIS_HASH (64 zeros) for record 1

Unambiguous: JSON escapes newlines inside strings, so the first 0x0A ends the header, and
no field can bleed into the next. Reproducible from any language with a JSON library and
SHA-256, so an auditor needs no tickbridge code to check the chain. The payload is hashed
as stored (not re-encoded), so any change to its text, even whitespace, breaks the hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_payload(payload: Any) -> str:
    """The stored payload text: sorted keys, no whitespace, UTF-8 kept, NaN refused (a NaN
    is not JSON and would not round-trip through other readers)."""
    return _PAYLOAD_ENCODER.encode(payload)


def canonical_bytes(record_id: int, wall_ns: int, mono_ns: int, kind: str,
                    client_order_id: int | None, account: str, payload: str) -> bytes:
    """The header is byte-for-byte ``json.dumps([...], separators=(",", ":"),
    ensure_ascii=False)``, built by hand because it runs once per audited event on the
    writer thread (the test suite checks the equality). Integers must be ``int``."""
    coid = "null" if client_order_id is None else client_order_id
    return (f"[{record_id},{wall_ns},{mono_ns},{_quote(kind)},{coid},"
            f"{_quote(account)}]\n{payload}").encode()


def record_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical).hexdigest()


def _jsonable(value: Any) -> Any:
    # numpy scalars and enums arrive from decoded records; store their plain value.
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "name") and hasattr(value, "value"):
        return value.name
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).rstrip(b"\0").decode("utf-8", "replace")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"audit payload value {value!r} of type {type(value).__name__} is not "
                    "JSON-serializable; pass numbers, strings, lists or dicts")


# Built once: json.dumps with non-default options builds a new encoder at every call.
_PAYLOAD_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                    allow_nan=False, default=_jsonable)
quote_json_string = json.encoder.encode_basestring  # type: ignore[attr-defined]
_quote = quote_json_string
