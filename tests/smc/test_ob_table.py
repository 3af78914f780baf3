"""The order-block table (``_ob_table``): slots grouped by category, and cached aggregates
maintained incrementally (per dirty category, new objects folded in, cached slots following moved
objects) that must equal a brute-force recomputation after every bar; and the kernel must equal
the reference on tie-heavy data."""

from __future__ import annotations

import numpy as np
import pytest

from strategies.smc import _ob_table as tb
from strategies.smc import order_blocks as ob
from strategies.smc import structure as ms
from strategies.smc import swings as sw
from tests.smc.test_order_blocks import _reference
from tests.smc.test_structure import assert_same

PARAMS = [
    ob.OrderBlockParams(ob_max_active=1),
    ob.OrderBlockParams(ob_max_active=2, ob_close_invalidation=False),
    ob.OrderBlockParams(ob_max_active=5),
    ob.OrderBlockParams(ob_max_active=32, ob_use_body=True),
]


def _walk(seed: int, n: int = 1500, tick: float = 1.0) -> np.ndarray:
    """Random-walk bars rounded to a coarse tick (many equal levels: tie-breaks matter)."""
    r = np.random.default_rng(seed)
    c = 1000.0 + np.cumsum(r.normal(0.0, 1.0, n))
    o = np.r_[c[0], c[:-1]]
    h = np.maximum(o, c) + np.abs(r.normal(0.0, 0.7, n))
    lo = np.minimum(o, c) - np.abs(r.normal(0.0, 0.7, n))
    bars = np.zeros((n, 6))
    bars[:, :4] = np.round(np.c_[o, h, lo, c] / tick) * tick
    bars[:, 5] = np.arange(n) * 60_000.0
    return bars


def _struct(bars: np.ndarray) -> np.ndarray:
    return ms.run(bars, sw.run(bars, 1, 1), ms.StructureParams())


def aggregate_errors(table: np.ndarray, scal: np.ndarray) -> list[str]:
    """Broken slot groups, and differences between the cached aggregates and a brute-force
    recomputation (mirrored: bearish levels negated, as in ``refresh_category``); the
    nearest-inside cache, when valid, must hold for its whole close interval (no level inside
    it, slot = newest reaching it)."""
    n = int(scal[tb.COUNT])
    t = table[:n]
    cats = (t[:, tb.DIR] <= 0) + 2 * (t[:, tb.KIND] == tb.BREAKER)
    bounds = [int(scal[tb.SEG + k]) for k in range(4)] + [n]
    errs = [f"group {k}" for k in range(4) if (cats[bounds[k] : bounds[k + 1]] != k).any()]
    errs += ["groups out of order"] if bounds != sorted(bounds) or bounds[0] != 0 else []
    errs += ["slot beyond count not empty"] if table[n:].any() else []
    for cat in range(4):
        bull, b = cat % 2 == 0, 4 * cat
        kind = tb.BREAKER if cat >= 2 else tb.OB
        m = (t[:, tb.KIND] == kind) & ((t[:, tb.DIR] > 0) == bull)
        sg = 1.0 if bull else -1.0
        x = np.where(m, t[:, tb.TOP] if bull else -t[:, tb.BOT], -np.inf)
        y = np.where(m, t[:, tb.BOT] if bull else -t[:, tb.TOP], -np.inf)
        fresh = m & (t[:, tb.RETESTED if cat >= 2 else tb.TOUCHED] == 0.0)
        near = x.max(initial=-np.inf)
        top = m & (x == near)
        slot = int(np.flatnonzero(top)[np.argmax(t[top, tb.SEQ])]) if top.any() else -1
        want = {
            tb.A_TOUCH: sg * np.where(fresh, x, -np.inf).max(initial=-np.inf),
            tb.A_INVAL: sg * y.max(initial=-np.inf),
            tb.A_NEAR: sg * near,
            tb.A_SLOT: slot,
        }
        errs += [f"cat {cat} field {f}" for f, v in want.items() if scal[tb.AGG + b + f] != v]
        if scal[tb.CACHE + b] != 1.0:
            continue
        lo, hi = scal[tb.CACHE + b + 2], scal[tb.CACHE + b + 3]
        lo, hi = (lo, hi) if bull else (-hi, -lo)  # mirrored interval (lo, hi]
        if (m & (x > lo) & (x < hi)).any():
            errs.append(f"cat {cat}: a level inside the cached interval")
        inside = m & (x >= hi)
        newest = int(np.flatnonzero(inside)[np.argmax(t[inside, tb.SEQ])]) if inside.any() else -1
        if scal[tb.CACHE + b + 1] != newest:
            errs.append(f"cat {cat}: cached slot")
    return errs


def _steps(bars: np.ndarray, p: ob.OrderBlockParams):  # type: ignore[no-untyped-def]
    """Yield ``(i, scal_before, scal, table, out)`` after each stepped bar."""
    struct = _struct(bars)
    scal, table = ob.init_state(p)
    out = np.empty((len(bars), len(ob.COLUMNS)))
    args = (p.ob_use_body, p.ob_close_invalidation, p.ob_atr_period, p.ob_atr_mult)
    for i in range(len(bars)):
        before = scal.copy()
        ob.step(i, bars, struct, *args, scal, table, out)
        yield i, before, scal, table, out


@pytest.mark.parametrize("p", PARAMS)
@pytest.mark.parametrize("tick", [0.01, 1.0])
def test_aggregates_equal_recomputation_after_every_bar(
    p: ob.OrderBlockParams, tick: float
) -> None:
    for i, _, scal, table, _ in _steps(_walk(7, tick=tick), p):
        assert aggregate_errors(table, scal) == [], f"bar {i}"


def test_aggregate_check_catches_a_missed_update() -> None:
    """Negative control: undoing a bar's aggregate update (as if an insert were not folded in)
    is caught on most bars with a new OB."""
    caught = new = 0
    for _, before, scal, table, _ in _steps(_walk(3), PARAMS[2]):
        if scal[tb.NEXT_SEQ] == before[tb.NEXT_SEQ]:  # no new OB on this bar
            continue
        new += 1
        stale = scal.copy()
        stale[tb.AGG : tb.STATE_SIZE] = before[tb.AGG : tb.STATE_SIZE]
        caught += bool(aggregate_errors(table, stale))
    assert new > 50 and caught > new // 2


@pytest.mark.parametrize("p", PARAMS)
@pytest.mark.parametrize("seed", [1, 2])
def test_tie_heavy_walk_matches_reference(p: ob.OrderBlockParams, seed: int) -> None:
    bars = _walk(seed, n=3000, tick=1.0)
    struct = _struct(bars)
    assert_same(ob.run(bars, struct, p), _reference(bars, struct, p))
