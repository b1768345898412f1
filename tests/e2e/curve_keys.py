"""CURVE keys for the shims' tests against a CURVE engine: made with `tickbridge keys`,
the shim's public key on the engine's allow-list and bound to the account."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import zmq.auth


@dataclass(frozen=True)
class CurveKeys:
    folder: Path
    engine_public: str  # z85
    shim_public: str
    shim_secret: str

    @property
    def engine_key_file(self) -> Path:
        return self.folder / "engine.key"

    @property
    def shim_key_file(self) -> Path:
        return self.folder / "shim.key_secret"

    @property
    def stranger_key_file(self) -> Path:
        return self.folder / "stranger.key_secret"

    def engine_toml(self) -> str:
        return (f'curve_secret_key_file = "{self.folder / "engine.key_secret"}"\n'
                f'curve_public_key_file = "{self.folder / "engine.key"}"\n'
                f'curve_authorized_keys_dir = "{self.folder / "authorized"}"\n')

    @staticmethod
    def account_toml() -> str:
        return 'curve_public_keys = ["shim"]\n'


def make_curve_keys(folder: Path) -> CurveKeys:
    """engine, shim (allowed and bound) and stranger (not on the allow-list) pairs, made
    in ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("engine", "shim", "stranger"):
        subprocess.run([sys.executable, "-m", "tickbridge", "keys", "create", name, "--dir",
                        str(folder)], check=True, capture_output=True, timeout=60)
    (folder / "authorized").mkdir()
    (folder / "authorized" / "shim.key").write_bytes((folder / "shim.key").read_bytes())
    engine, _ = zmq.auth.load_certificate(folder / "engine.key")
    public, secret = zmq.auth.load_certificate(folder / "shim.key_secret")
    assert secret is not None
    return CurveKeys(folder, engine.decode(), public.decode(), secret.decode())
