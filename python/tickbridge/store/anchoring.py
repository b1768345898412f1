"""The state store's side of the witness (see ``tickbridge.audit.anchor``): the check when
the store opens and the write after every group commit that moved the chain's head.

At open the database's head is compared with each witness. A database behind its witness
(records cut from the end, a WAL lost or cut short) or one whose record at the witness's
id hashes differently (the chain rewritten) is refused: trading on it would reuse what the
chain had already recorded, and the next commit would overwrite the evidence. An operator
who has looked accepts the store as it is with ``tickbridge audit reanchor``, which writes
what the witness said into the chain before anchoring the new head.

Everything the anchor notices (a witness missing, re-created, replaced, a copy that cannot
be written) goes into the chain itself as a ``session`` record, in the next transaction.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickbridge.audit.anchor import (
    WitnessError,
    WitnessFile,
    WitnessHead,
    compare,
    read_witness,
    witness_path,
)

log = logging.getLogger("tickbridge.store")

Note = dict[str, Any]  # the payload of a ``session`` audit record


class WitnessMismatch(RuntimeError):
    """The database is not what its witness says it was: the store refuses to open."""


@dataclass(frozen=True)
class AnchorSettings:
    """``enabled``: keep a witness beside the database (``<db>.witness``). ``copy``: a
    second witness elsewhere (another disk, a mount another user owns). ``reanchor``: the
    reason an operator gives for accepting a database that disagrees with its witness."""

    enabled: bool = True
    copy: Path | None = None
    reanchor: str | None = None


class Anchors:
    """The witnesses of one store, used by the writer thread only."""

    def __init__(self, db: Path, settings: AnchorSettings, *, new_file: bool) -> None:
        self.db, self.settings, self.new_file = db, settings, new_file
        self.primary = WitnessFile(witness_path(db)) if settings.enabled else None
        self.copy = WitnessFile(Path(settings.copy)) if settings.copy is not None else None
        self._copy_failing = False

    @property
    def files(self) -> list[WitnessFile]:
        return [w for w in (self.primary, self.copy) if w is not None]

    def open(self, conn: sqlite3.Connection, head_id: int) -> list[Note]:
        """Check the database against each witness; the notes to chain. Raises
        WitnessMismatch when the database is behind or different."""
        notes: list[Note] = []
        for witness in self.files:
            try:
                head = read_witness(witness.path)
            except WitnessError as exc:
                if witness is self.copy:
                    log.error("state store: %s; the copy is written again from now", exc)
                    notes.append({"event": "witness_unreadable", "witness": str(witness.path),
                                  "error": str(exc)})
                    continue
                head = None
                problem = f"{exc}: the database's head #{head_id} cannot be checked"
                notes.append(self._disagreement(witness, None, problem))
                continue
            if head is None:
                if head_id > 0:
                    log.warning("state store %s: no witness at %s for a store of %d audit "
                                "records; anchoring from #%d (truncation before now cannot "
                                "be ruled out)", self.db, witness.path, head_id, head_id)
                    notes.append({"event": "witness_missing", "witness": str(witness.path),
                                  "store_head": head_id})
                continue
            problem = compare(conn, head_id, head)
            if problem is not None:
                notes.append(self._disagreement(witness, head, problem))
        return notes

    def _disagreement(self, witness: WitnessFile, head: WitnessHead | None,
                      problem: str) -> Note:
        seen = {"witness": str(witness.path), "problem": problem}
        if head is not None:
            seen.update(witness_head=head.id, witness_hash=head.hash)
        if self.new_file:
            # A new database file beside an old witness: the file was deleted or moved on
            # purpose. The old witness is kept aside as evidence, never overwritten.
            aside = witness.path.with_name(f"{witness.path.name}.orphaned-{time.time_ns()}")
            witness.path.rename(aside)
            log.warning("state store %s is a new file; the witness %s of an earlier store "
                        "was moved to %s", self.db, witness.path, aside)
            return {"event": "witness_replaced", "moved_to": str(aside), **seen}
        if self.settings.reanchor:
            log.warning("state store %s: %s; accepted by the operator: %s", self.db, problem,
                        self.settings.reanchor)
            return {"event": "witness_reanchored", "reason": self.settings.reanchor, **seen}
        raise WitnessMismatch(
            f"state store {self.db} refused: {problem}. Its orders and fills may be missing "
            f"what was acknowledged. See `tickbridge audit --db {self.db} verify`; to accept "
            f"the store as it is (the witness's head is written into the chain), run "
            f"`tickbridge audit --db {self.db} reanchor --reason TEXT`")

    def write(self, head_id: int, head_hash: str) -> list[Note]:
        """After a durable commit: every witness holds the head when this returns. The
        primary's failure is the store's (WitnessError stops the writer); a copy's is
        logged, chained, and retried at the next commit."""
        notes: list[Note] = []
        now = time.time_ns()
        if self.primary is not None and self.primary.write(head_id, head_hash, now):
            log.error("state store: witness %s was deleted or replaced while the store was "
                      "open; written again at head #%d", self.primary.path, head_id)
            notes.append({"event": "witness_recreated", "witness": str(self.primary.path),
                          "head": head_id})
        if self.copy is not None:
            try:
                if self.copy.write(head_id, head_hash, now):
                    notes.append({"event": "witness_recreated",
                                  "witness": str(self.copy.path), "head": head_id})
                self._copy_failing = False
            except WitnessError as exc:
                if not self._copy_failing:
                    log.error("state store: %s; the store goes on with its primary witness "
                              "and retries the copy at every commit", exc)
                    notes.append({"event": "witness_copy_failed",
                                  "witness": str(self.copy.path), "error": str(exc)})
                self._copy_failing = True
        return notes

    def close(self) -> None:
        for witness in self.files:
            witness.close()
