"""The prefix-property harness every causality test uses (DESIGN.md "Causality").

``run(data[:t+1])`` must equal ``run(data)[:t+1]`` — every row, NaN = NaN, bit for bit. Two
details make the check able to see a one-bar look-ahead:

* each prefix is a **fresh copy** (``prefix``). A numpy *view* ``bars[:t+1]`` shares memory
  with the full array, so a kernel reading ``bars[i + 1]`` past the end of the view reads the
  real next bar and produces exactly the full run's row: the look-ahead passes unseen;
* the tests run with ``NUMBA_BOUNDSCHECK=1`` (``make test`` / ``make test-causality``; they
  are skipped otherwise, see ``tests/conftest.py``), so that read raises IndexError instead of
  returning whatever lies past the copy. An IndexError is reported as a failure.

``prefix_failure`` *returns* the first failure (or None) rather than asserting, so each layer's
negative control can show that a deliberately look-ahead variant makes the very same check fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd


def prefix(data: Any, t: int) -> Any:
    """Rows ``0..t`` of ``data`` as a fresh copy (shares no memory with ``data``).

    ``data`` is an array, a pandas object, or a tuple/list of them (cut alike)."""
    if isinstance(data, pd.DataFrame | pd.Series):
        return data.iloc[: t + 1].copy(deep=True)
    if isinstance(data, np.ndarray):
        return np.array(data[: t + 1], copy=True, order="K")
    if isinstance(data, tuple | list):
        return type(data)(prefix(x, t) for x in data)
    raise TypeError(f"cannot cut {type(data).__name__} into a prefix")


def rows_differ(part: Any, full: Any, t: int, where: str = "") -> str | None:
    """Where ``part`` (run on rows 0..t) differs from rows 0..t of ``full``; None if nowhere.

    Arrays are cut along axis 0; DataFrames/Series by position; mappings and dataclasses
    (e.g. ``Signals``) field by field."""
    if isinstance(full, Mapping):
        if set(part) != set(full):
            return f"{where}keys {sorted(part)} != {sorted(full)}"
        for key in full:
            found = rows_differ(part[key], full[key], t, f"{where}{key}: ")
            if found:
                return found
        return None
    if dataclasses.is_dataclass(full) and not isinstance(full, type):
        for f in dataclasses.fields(full):
            found = rows_differ(
                getattr(part, f.name), getattr(full, f.name), t, f"{where}{f.name}: "
            )
            if found:
                return found
        return None
    if isinstance(full, pd.DataFrame | pd.Series):
        want = full.iloc[: t + 1]
        try:
            if isinstance(full, pd.DataFrame):
                pd.testing.assert_frame_equal(part, want, check_exact=True, check_freq=False)
            else:
                pd.testing.assert_series_equal(part, want, check_exact=True, check_freq=False)
        except AssertionError as err:
            return f"{where}{str(err).splitlines()[0]}"
        return None
    a, b = np.asarray(part), np.asarray(full)[: t + 1]
    if a.shape != b.shape:
        return f"{where}shape {a.shape} != {b.shape}"
    same = (a == b) | ((a != a) & (b != b)) if a.dtype.kind in "fc" else a == b
    if not np.all(same):
        row = int(np.argwhere(~same)[0][0])
        return f"{where}row {row} differs ({a[row]!r} != {b[row]!r})"
    return None


def prefix_failure(run: Callable[[Any], Any], data: Any, cuts: Iterable[int]) -> str | None:
    """The first way ``run`` breaks the prefix property on ``data`` at ``cuts``, or None.

    An IndexError (an out-of-bounds read under NUMBA_BOUNDSCHECK) in any run is a failure."""
    try:
        full = run(data)
    except IndexError as err:
        return f"full run: out-of-bounds read ({err})"
    for t in cuts:
        try:
            part = run(prefix(data, int(t)))
        except IndexError as err:
            return f"cut {t}: out-of-bounds read ({err})"
        found = rows_differ(part, full, int(t))
        if found:
            return f"cut {t}: {found}"
    return None


def assert_prefix_property(run: Callable[[Any], Any], data: Any, cuts: Iterable[int]) -> None:
    """Fail with the first cut at which ``run`` breaks the prefix property."""
    found = prefix_failure(run, data, cuts)
    assert found is None, found
