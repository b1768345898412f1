"""pandas at the edges: tables in, DataFrames out.

Inside, a table is a ``dict[str, numpy.ndarray]`` with ``ts`` as int64 UTC ns. A
DataFrame is accepted wherever a table is: its columns become arrays (no copy when a
column is already a numpy array of the right dtype) and its time comes from a ``ts``
column or a DatetimeIndex; ``datetime64`` (naive means UTC; any resolution) and
tz-aware times become int64 UTC ns. :func:`to_frame` turns any table, or a structured
array such as ``build_bars``' result, into a DataFrame indexed by a UTC DatetimeIndex.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def time_ns(values: Any, what: str = "ts") -> np.ndarray:
    """int64 UTC ns from int64 ns, numpy datetime64 (any unit; naive = UTC) or a
    pandas Series/Index of datetimes (tz-aware converted to UTC). No copy for int64 or
    datetime64[ns] input."""
    dtype = getattr(values, "dtype", None)
    if dtype is not None and getattr(dtype, "tz", None) is not None:
        # tz-aware pandas: to UTC, then the underlying ns.
        values = values.tz_convert("UTC") if hasattr(values, "tz_convert") else (
            values.dt.tz_convert("UTC"))
        values = values.to_numpy(dtype="datetime64[ns]") if hasattr(values, "to_numpy") else (
            np.asarray(values))
    elif hasattr(values, "to_numpy"):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        if arr.dtype != np.dtype("datetime64[ns]"):
            arr = arr.astype("datetime64[ns]")
        return arr.view(np.int64)
    if arr.dtype != np.int64:
        raise TypeError(
            f"{what} must be int64 UTC ns or datetime64, got dtype {arr.dtype}")
    return arr


def as_array(values: Any) -> np.ndarray:
    """A numpy array from a numpy array or a pandas Series/Index (no copy when the
    Series is numpy-backed)."""
    if isinstance(values, np.ndarray):
        return values
    if hasattr(values, "to_numpy"):
        return values.to_numpy()
    return np.asarray(values)


def as_table(data: Mapping[str, Any] | Any) -> dict[str, np.ndarray]:
    """A table (dict of arrays) from a dict of arrays/Series or a DataFrame."""
    if hasattr(data, "columns") and hasattr(data, "index"):  # a DataFrame
        table = {str(c): as_array(data[c]) for c in data.columns}
        if "ts" in data.columns:
            table["ts"] = time_ns(data["ts"], "ts column")
        elif getattr(data.index, "dtype", None) is not None and (
            data.index.dtype.kind == "M" or getattr(data.index.dtype, "tz", None) is not None
        ):
            table["ts"] = time_ns(data.index, "DatetimeIndex")
        return table
    if isinstance(data, Mapping):
        table = {str(k): as_array(v) for k, v in data.items()}
        if "ts" in table:
            table["ts"] = time_ns(table["ts"])
        return table
    raise TypeError(f"expected a table (dict of arrays) or a DataFrame, got {type(data)}")


def to_frame(table: Mapping[str, np.ndarray] | np.ndarray, *, index: str | None = "ts"):
    """A pandas DataFrame of a table or structured array; ``ts`` columns (``ts``,
    ``ts_end``) become datetime64[ns, UTC] and ``index`` (default ``ts``; None keeps a
    RangeIndex) becomes the index."""
    import pandas as pd

    if isinstance(table, np.ndarray):
        if table.dtype.names is None:
            raise TypeError("to_frame needs a table or a structured array")
        table = {name: table[name] for name in table.dtype.names}
    columns = {}
    for name, values in table.items():
        if name in ("ts", "ts_end") and np.asarray(values).dtype == np.int64:
            columns[name] = pd.DatetimeIndex(np.asarray(values).view("datetime64[ns]"),
                                             tz="UTC")
        else:
            columns[name] = values
    frame = pd.DataFrame(columns)
    if index is not None and index in frame.columns:
        frame = frame.set_index(index)
    return frame
