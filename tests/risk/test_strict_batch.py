"""The risk gate's batch binding takes exactly the dtypes it reads (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import T0, make_gate


def test_check_batch_refuses_a_fractional_quantity_naming_the_field() -> None:
    gate = make_gate(False)
    n = 2
    args = [np.zeros(n, np.uint32), np.zeros(n, np.uint32), np.ones(n, np.uint8),
            np.full(n, 2, np.uint8), np.array([1.5, 2.0]), np.full(n, 6000.0),
            np.full(n, T0, np.int64)]
    with pytest.raises(TypeError, match="check_batch: qtys must have dtype int64, got float64"):
        gate.core.check_batch(*args, True, False)
    args[4] = np.array([1, 2], np.int64)
    args[0] = np.zeros(2 * n, np.uint32)[::2]
    with pytest.raises(ValueError, match="check_batch: account_ids must be C-contiguous"):
        gate.core.check_batch(*args, True, False)


def test_check_batch_answers_named_columns() -> None:
    gate = make_gate(False)
    n = 2
    out = gate.core.check_batch(np.zeros(n, np.uint32), np.zeros(n, np.uint32),
                                np.ones(n, np.uint8), np.full(n, 2, np.uint8),
                                np.ones(n, np.int64), np.full(n, 6000.0),
                                np.full(n, T0, np.int64), True, False)
    assert list(out.reasons) == [0, 0] and list(out.prices) == [6000.0, 6000.0]
