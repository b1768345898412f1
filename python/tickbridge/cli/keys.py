"""``tickbridge keys create NAME`` / ``tickbridge keys list``: ZeroMQ CURVE key pairs for
the engine and the shims, in zmq.auth's certificate format (pyzmq's helpers)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import zmq.auth

_DEFAULT_DIR = Path("keys")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "keys", help="create and list CURVE key pairs (engine and shim authentication)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "CURVE key pairs in zmq.auth's certificate format. `create NAME` writes\n"
            "NAME.key (the public key: give it to the other side) and NAME.key_secret\n"
            "(public and secret: keep it, mode 0600). The engine's\n"
            "curve_authorized_keys_dir holds the shims' NAME.key files; an account's\n"
            "curve_public_keys names the ones that may speak for it (docs/security.md).\n"
            "Exit codes: 0 done, 1 a file could not be written or read, 2 bad usage."),
    )
    actions = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a key pair NAME.key / NAME.key_secret")
    create.add_argument("name", help="file name stem, e.g. engine or sierra-sim101")
    create.add_argument("--dir", type=Path, default=_DEFAULT_DIR,
                        help="folder to write to (default ./keys, made if missing)")
    create.add_argument("--force", action="store_true", help="overwrite an existing pair")
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="the key pairs and public keys in a folder")
    listing.add_argument("--dir", type=Path, default=_DEFAULT_DIR,
                         help="folder to read (default ./keys)")
    listing.set_defaults(handler=run_list)


def run_create(args: argparse.Namespace) -> int:
    name = args.name
    if not name or "/" in name or name.startswith("."):
        print(f"tickbridge keys: {name!r} is not a plain file name", file=sys.stderr)
        return 2
    folder: Path = args.dir
    public_file = folder / f"{name}.key"
    secret_file = folder / f"{name}.key_secret"
    existing = [str(f) for f in (public_file, secret_file) if f.exists()]
    if existing and not args.force:
        print(f"tickbridge keys: {', '.join(existing)} exists (--force replaces it)",
              file=sys.stderr)
        return 1
    try:
        folder.mkdir(parents=True, exist_ok=True)
        public_path, secret_path = zmq.auth.create_certificates(folder, name)
        os.chmod(secret_path, 0o600)  # the secret key: its owner only
    except OSError as e:
        print(f"tickbridge keys: cannot write to {folder}: {e.strerror}", file=sys.stderr)
        return 1
    public, _ = zmq.auth.load_certificate(public_path)
    print(f"public key {public.decode()}")
    print(f"  {public_path}  (public: the engine's curve_authorized_keys_dir, or the "
          "shims' server key)")
    print(f"  {secret_path}  (secret: keep it on the machine that uses it)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    if not folder.is_dir():
        print(f"tickbridge keys: {folder} is not a folder", file=sys.stderr)
        return 1
    rows = []
    for path in sorted(folder.glob("*.key")):
        try:
            public, _ = zmq.auth.load_certificate(path)
        except (OSError, ValueError) as e:
            print(f"tickbridge keys: {path}: {e}", file=sys.stderr)
            return 1
        has_secret = (folder / f"{path.stem}.key_secret").is_file()
        rows.append((path.stem, public.decode(), "yes" if has_secret else "no"))
    if not rows:
        print(f"no *.key files in {folder}")
        return 0
    width = max(len(r[0]) for r in rows)
    print(f"{'name':<{width}}  {'public key':<40}  secret")
    for name, public, secret in rows:
        print(f"{name:<{width}}  {public:<40}  {secret}")
    return 0
