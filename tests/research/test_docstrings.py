"""Issue 16: every public name of the research API and of tickbridge.signals has a
docstring of its own (not one inherited from int, tuple or a pybind11 default)."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import types

import pytest

MODULES = [importlib.import_module(name) for name in (
    "tickbridge.research", "tickbridge.signals", "tickbridge.research.csv",
    "tickbridge.research.ninjatrader", "tickbridge.research.scid",
    "tickbridge.research.timestamps")]
# Modules added by issue 16 (absent before it: their names are checked when present).
for name in ("follow", "frames", "units", "zones", "cli"):
    with contextlib.suppress(ImportError):
        MODULES.append(importlib.import_module(f"tickbridge.research.{name}"))


def public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_") and (
            inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == module.__name__]
    return sorted(names)


def own_doc(obj: object) -> str | None:
    if isinstance(obj, int | float | str | tuple | dict):
        return "constant"  # constants are documented in the module docstring
    if type(obj).__name__ in ("dtype", "VoidDType") or (inspect.isclass(obj) and issubclass(
            obj, dict)):
        return "type alias"
    doc = inspect.getdoc(obj)
    if doc is None or (inspect.isclass(obj) and doc == inspect.getdoc(object)):
        return None
    return doc


CASES = [(m.__name__, n) for m in MODULES for n in public_names(m)]


@pytest.mark.parametrize(("module", "name"), CASES)
def test_public_name_has_a_docstring(module: str, name: str) -> None:
    obj = getattr(__import__(module, fromlist=[name]), name)
    if isinstance(obj, types.GenericAlias | types.UnionType):
        return  # Table, TimeSize: type aliases, described in the module docstring
    assert own_doc(obj), f"{module}.{name} has no docstring"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_module_has_a_docstring(module: types.ModuleType) -> None:
    assert module.__doc__ and len(module.__doc__) > 40
