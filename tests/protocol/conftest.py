from __future__ import annotations

import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).parent.parent / "vectors"


def load_manifest() -> list[dict]:
    return json.loads((VECTORS / "manifest.json").read_text())


@pytest.fixture(params=load_manifest(), ids=lambda v: v["file"])
def vector(request) -> tuple[dict, bytes]:
    return request.param, (VECTORS / request.param["file"]).read_bytes()
