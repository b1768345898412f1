"""The witness: the audit chain's head (record id and hash) kept outside the database.

The chain alone cannot show records cut from its end, nor a chain re-hashed from an edit to
its end: what is left is a valid, shorter or different chain. The state store writes the
head to a witness file after every group commit that moved it, once the commit is durable,
and fsyncs it; `tickbridge audit verify` and the next start compare the database with it.

File format (text, 256 bytes): two slots of 128 bytes, each one line

    tbw1 <head id, 20 digits> <head hash, 64 hex> <wall ns, 20 digits> <crc32, 8 hex><spaces>\n

The crc32 covers the line up to the space before it. Each write overwrites the slot that
does not hold the newest head, in place, then fdatasync: one flush per group commit, no
rename and no directory flush. A write torn by a power cut spoils only the slot being
written (its crc fails), and the other slot still holds the head before it. Readers take
the valid slot with the highest id.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path

SLOT = 128
_MAGIC = "tbw1"


class WitnessError(OSError):
    """A witness file cannot be read or written (damaged, or an I/O error)."""


@dataclass(frozen=True)
class WitnessHead:
    id: int
    hash: str
    wall_ns: int
    path: Path

    def describe(self) -> str:
        seconds, nanos = divmod(self.wall_ns, 1_000_000_000)
        stamp = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
        return (f"head #{self.id} {self.hash[:16]}… (written "
                f"{stamp:%Y-%m-%d %H:%M:%S}.{nanos // 1000:06d} UTC)")


def witness_path(db: str | Path) -> Path:
    """Where the store keeps its witness: beside the database file."""
    return Path(str(db) + ".witness")


def encode_slot(head_id: int, head_hash: str, wall_ns: int) -> bytes:
    body = f"{_MAGIC} {head_id:020d} {head_hash} {wall_ns:020d}"
    line = f"{body} {zlib.crc32(body.encode()):08x}"
    return (line.ljust(SLOT - 1) + "\n").encode()


def _decode_slot(raw: bytes, path: Path) -> WitnessHead | None:
    try:
        text = raw.decode("ascii").rstrip(" \n")
        body, crc = text.rsplit(" ", 1)
        magic, head_id, head_hash, wall_ns = body.split(" ")
        if magic != _MAGIC or int(crc, 16) != zlib.crc32(body.encode()) or \
                len(head_hash) != 64:
            return None
        return WitnessHead(int(head_id), head_hash, int(wall_ns), path)
    except ValueError:
        return None


def read_witness(path: Path) -> WitnessHead | None:
    """The newest head in the file; None when there is no file. Raises WitnessError when
    the file exists but neither slot is valid."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WitnessError(f"witness {path}: cannot read: {exc}") from exc
    heads = [h for i in range(2) if (h := _decode_slot(raw[i * SLOT:(i + 1) * SLOT], path))]
    if not heads:
        raise WitnessError(f"witness {path}: no valid slot in its {len(raw)} bytes (damaged, "
                           "or not a tickbridge witness)")
    return max(heads, key=lambda h: h.id)


def compare(conn: sqlite3.Connection, head_id: int, witness: WitnessHead) -> str | None:
    """Why the database's chain (head ``head_id``) disagrees with ``witness``, or None.
    A database ahead of its witness is fine when its record at the witness's id has the
    witnessed hash: the engine stopped between a commit and its witness write."""
    if witness.id > head_id:
        first = head_id + 1
        gone = f"#{first}" if first == witness.id else f"#{first}..#{witness.id}"
        return (f"the audit log ends at #{head_id} but the witness {witness.path} records "
                f"{witness.describe()}: record(s) {gone} are missing (rows deleted at the "
                "end, or the WAL lost or cut short)")
    if witness.id == 0:
        return None
    row = conn.execute("SELECT hash FROM audit_log WHERE id = ?", (witness.id,)).fetchone()
    if row is None:
        return (f"record #{witness.id}, the witness's head ({witness.path}), is not in the "
                "audit log (deleted)")
    if row[0] != witness.hash:
        return (f"record #{witness.id} has hash {row[0][:16]}… but the witness "
                f"{witness.path} records {witness.describe()}: the chain was rewritten "
                f"(re-hashed) at or before #{witness.id}")
    return None


class WitnessFile:
    """One witness file, open for the writer thread's whole life."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._ino: tuple[int, int] | None = None
        self._next_slot = 0

    def write(self, head_id: int, head_hash: str, wall_ns: int) -> bool:
        """Anchor the head; on disk when this returns. True when the file had to be
        created again because it was deleted or replaced while the store had it open."""
        if self._fd < 0 or not self._same_file():
            replaced = self._fd >= 0
            self._create(head_id, head_hash, wall_ns)
            return replaced
        try:
            os.pwrite(self._fd, encode_slot(head_id, head_hash, wall_ns),
                      self._next_slot * SLOT)
            os.fdatasync(self._fd)
        except OSError as exc:
            raise WitnessError(f"witness {self.path}: cannot write head #{head_id}: "
                               f"{exc}") from exc
        self._next_slot ^= 1
        return False

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _same_file(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._ino

    def _create(self, head_id: int, head_hash: str, wall_ns: int) -> None:
        """Both slots, written to a temporary file, fsynced, renamed over the path, and the
        directory fsynced: the file appears whole or not at all."""
        self.close()
        slot = encode_slot(head_id, head_hash, wall_ns)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, slot + slot)
                os.fsync(fd)
                os.replace(tmp, self.path)
            except BaseException:
                os.close(fd)
                raise
            _fsync_dir(self.path.parent)
        except OSError as exc:
            raise WitnessError(f"witness {self.path}: cannot create: {exc}") from exc
        st = os.fstat(fd)
        self._fd, self._ino, self._next_slot = fd, (st.st_dev, st.st_ino), 0


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
