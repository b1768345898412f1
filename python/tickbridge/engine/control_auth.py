"""Who may use the control socket, and for what.

Every control request carries a token; the engine maps it to a named client with a role:

- ``read``: status, symbols, position, order, market;
- ``trade``: read, plus submit, cancel, replace, and the actions that only tighten
  (kill, a trading state at least as strict as the current one);
- ``risk``: everything, including the actions that loosen (reload risk limits, a trading
  state less strict than the current one: leaving HALTED or REDUCING_ONLY).

A kill is a safety action: anyone allowed to trade may stop trading. Undoing it is not.

The owner: unless ``[control] owner_token = false``, the engine keeps a random
token with the risk role in a file beside its state store, created mode 0600 at start.
Whoever can read that file is the owner (as with Jupyter's token or Docker's socket):
the local CLI reads it, so the default config works with no set-up. Other clients are
listed in ``[[control.clients]]`` with a token from a file, an environment variable or
the config itself (see docs/security.md).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickbridge.config.models import ControlClientConfig, TickbridgeConfig

log = logging.getLogger("tickbridge.engine")

OWNER = "owner"
TOKEN_ENV = "TICKBRIDGE_TOKEN"  # the CLI's token; not a config override (no such field)
TOKEN_FILE_ENV = "TICKBRIDGE_TOKEN_FILE"
MIN_TOKEN_BYTES = 16


class Role(IntEnum):
    """Ordered: each role may do what the roles below it may."""

    READ = 0
    TRADE = 1
    RISK = 2


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role

    def audit_fields(self) -> dict[str, str]:
        return {"caller": self.name, "role": self.role.name.lower()}


class TokenError(ValueError):
    """A token that cannot be had (file missing, unreadable, too open, too short)."""


def owner_token_path(state_store: str | Path) -> Path:
    return Path(f"{state_store}.control-token")


def read_token_file(path: str | Path) -> str:
    """The token in ``path`` (surrounding whitespace dropped)."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise TokenError(f"cannot read the control token file {path}: "
                         f"{e.strerror or e}") from None
    if len(text.encode()) < MIN_TOKEN_BYTES:
        raise TokenError(f"control token file {path}: the token is shorter than "
                         f"{MIN_TOKEN_BYTES} bytes")
    return text


def ensure_owner_token(path: Path) -> str:
    """The owner token in ``path``, created (random, mode 0600) when there is none. An
    existing file that others may read is refused: its token proves nothing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise TokenError(f"control token file {path} has mode {mode:04o}: others may read "
                             "it; chmod 600 it (or delete it: the engine makes a new one)"
                             ) from None
        return read_token_file(path)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
        f.flush()
        os.fsync(f.fileno())
    log.info("control: owner token created in %s (mode 0600)", path)
    return read_token_file(path)


def client_token(client: ControlClientConfig, environ: Mapping[str, str] | None = None) -> str:
    """A configured client's token, from its file, its environment variable or the config."""
    env = os.environ if environ is None else environ
    if client.token_file is not None:
        return read_token_file(client.token_file)
    if client.token_env is not None:
        value = env.get(client.token_env, "").strip()
        if len(value.encode()) < MIN_TOKEN_BYTES:
            raise TokenError(f"control.clients {client.name}: ${client.token_env} is unset or "
                             f"shorter than {MIN_TOKEN_BYTES} bytes")
        return value
    assert client.token is not None  # the model requires one of the three
    return client.token.get_secret_value()


class ControlAuth:
    """Token -> caller, compared in constant time against every known token."""

    def __init__(self, clients: list[tuple[str, Role, str]]) -> None:
        self._clients = [(name, role, token.encode()) for name, role, token in clients]
        names = [name for name, _, _ in clients]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise TokenError(f"control clients listed twice: {', '.join(sorted(duplicates))}")
        tokens = [t for _, _, t in self._clients]
        if len(set(tokens)) != len(tokens):
            raise TokenError("two control clients share a token: each needs its own")
        self.owner_token: str | None = next((t for n, _, t in clients if n == OWNER), None)

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self._clients]

    def authenticate(self, token: object) -> Caller | None:
        if not isinstance(token, str) or not token:
            return None
        given = token.encode()
        found: Caller | None = None
        # Every token is compared (no early exit): the time taken says nothing about which
        # one, or how much of one, matched.
        for name, role, known in self._clients:
            if hmac.compare_digest(given, known) and found is None:
                found = Caller(name, role)
        return found


def control_auth(config: TickbridgeConfig | None, state_store: str | Path | None,
                 environ: Mapping[str, str] | None = None) -> ControlAuth:
    """The engine's clients: the owner (token file beside ``state_store``, created when
    missing; an in-memory token when there is no store) and the configured ones."""
    clients: list[tuple[str, Role, str]] = []
    control = config.control if config is not None else None
    if control is None or control.owner_token:
        if control is not None and control.owner_token_file is not None:
            clients.append((OWNER, Role.RISK, ensure_owner_token(control.owner_token_file)))
        elif state_store is not None and str(state_store) != ":memory:":
            clients.append((OWNER, Role.RISK, ensure_owner_token(owner_token_path(state_store))))
        else:  # an in-process engine (tests, a notebook): its owner holds the object
            clients.append((OWNER, Role.RISK, secrets.token_urlsafe(32)))
    if config is not None:
        for client in config.control.clients:
            clients.append((client.name, Role[client.role.upper()],
                            client_token(client, environ)))
    return ControlAuth(clients)


def cli_token(config: TickbridgeConfig, *, client: str | None = None,
              token_file: str | Path | None = None,
              state_store: str | Path | None = None,
              environ: Mapping[str, str] | None = None) -> str | None:
    """The token a local command sends, first found: ``token_file``, $TICKBRIDGE_TOKEN,
    $TICKBRIDGE_TOKEN_FILE, the configured client named ``client``, the owner token file
    (``[control] owner_token_file``, else beside the state store). None: no credential
    (the engine will refuse; the caller says why). Raises TokenError for a named source
    that cannot be read."""
    env = os.environ if environ is None else environ
    if token_file is not None:
        return read_token_file(token_file)
    if env.get(TOKEN_ENV, "").strip():
        return env[TOKEN_ENV].strip()
    if env.get(TOKEN_FILE_ENV, "").strip():
        return read_token_file(env[TOKEN_FILE_ENV].strip())
    if client is not None:
        for configured in config.control.clients:
            if configured.name == client:
                return client_token(configured, env)
        if client != OWNER:
            known = ", ".join([OWNER, *(c.name for c in config.control.clients)])
            raise TokenError(f"no control client named {client!r} (configured: {known})")
    if not config.control.owner_token:
        return None
    path = config.control.owner_token_file or owner_token_path(
        state_store or config.engine.state_store)
    try:
        path.stat()
    except FileNotFoundError:
        return None  # no engine has started with this store (yet)
    except OSError as e:  # a folder another user keeps private: refused, said so
        raise TokenError(f"cannot read the control token file {path}: "
                         f"{e.strerror or e}") from None
    return read_token_file(path)
