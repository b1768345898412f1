"""Development-only code of the tickbridge repository: never part of the installed package.

The wheel holds ``python/tickbridge`` alone (``wheel.packages`` in pyproject.toml); this
package lives at the repository's root beside it and is imported from a source checkout:

- ``bench``: the benchmarks ``tickbridge bench`` runs (several build the study, the
  NinjaScript host or read sources, so they need the checkout anyway);
- ``oracles``: pure-Python twins of compiled parts, the tests' oracles and the benchmarks'
  baselines (``oracles.risk``: the pre-trade checks, ``oracles.orders``: the order table);
- ``webhook``: the webhook's test bed (an engine and the simulator) and its load generator.

The test suite finds it because pytest puts the repository's root on ``sys.path`` (``tests``
is a package); ``tickbridge bench`` finds it from the checkout (see ``tickbridge.cli.bench``).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def subprocess_env() -> dict[str, str]:
    """The environment for a child ``python -m tickbridge_dev...``: this checkout's root
    first on PYTHONPATH, so the child finds the package whatever its working folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env
