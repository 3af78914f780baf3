"""Order blocks, lifecycle, breaker blocks (smc.md §3.4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import order_blocks as ob
from strategies.smc import structure as ms
from strategies.smc import swings as sw
from strategies.smc._common import CLOSE, HIGH, LOW, OPEN
from tests.causality import assert_prefix_property
from tests.smc.helpers import assert_stream_equals_batch
from tests.smc.test_structure import SEQ, assert_same, load_bars, make_bars, other_files

DEFAULT = ob.OrderBlockParams()


def _run(
    bars: np.ndarray,
    params: ob.OrderBlockParams = DEFAULT,
    length: int = 1,
    wick_break: bool = False,
) -> np.ndarray:
    swings = sw.run(bars, length, length)
    struct = ms.run(bars, swings, ms.StructureParams(structure_wick_break=wick_break))
    return ob.run(bars, struct, params)


def _zone(out: np.ndarray, i: int, col: int) -> tuple[float, float, int, int]:
    return (out[i, col], out[i, col + 1], int(out[i, col + 2]), int(out[i, col + 3]))


def _new(out: np.ndarray, i: int, col: int) -> tuple[int, float, float, int]:
    return (int(out[i, col]), out[i, col + 1], out[i, col + 2], int(out[i, col + 3]))


def _ev(out: np.ndarray, col: int) -> list[tuple[int, int, int, int]]:
    """(row, count, ref, dir) of a lifecycle column group."""
    return [
        (i, int(out[i, col]), int(out[i, col + 1]), int(out[i, col + 2]))
        for i in np.flatnonzero(out[:, col])
    ]


def test_hand_made_lifecycle() -> None:
    # structure of SEQ (L = R = 1): bull BOS @5 (pivot 2), bear CHoCH @8 (pivot 3),
    # bear BOS @11 (pivot 9), bull CHoCH @14 (pivot 12) -- see test_structure
    out = _run(make_bars(SEQ))
    # bull OB @5: lowest low in (2, 5) = bar 3 (9.5): zone [9.5, 11.5]
    assert _new(out, 5, ob.BULL_NEW) == (1, 11.5, 9.5, 3)
    # bear OB @8: highest high in (3, 8) = bar 6 (13): zone [12, 13]
    assert _new(out, 8, ob.BEAR_NEW) == (1, 13.0, 12.0, 6)
    # bear OB @11: highest high in (9, 11) = bar 10 (9.9): zone [8.8, 9.9]
    assert _new(out, 11, ob.BEAR_NEW) == (1, 9.9, 8.8, 10)
    # bull OB @14: lowest low in (12, 14) = bar 13 (8.3): zone [8.3, 9.4]
    assert _new(out, 14, ob.BULL_NEW) == (1, 9.4, 8.3, 13)
    assert out[:, ob.BULL_NEW].sum() == 2 and out[:, ob.BEAR_NEW].sum() == 2
    # bull OB 3: not touched at 6 (low 12 > 11.5), touched at 7 (low 11), invalidated at 8
    # (close 9.2 < 9.5) -> bearish breaker, retested at 9 (high 10 >= 9.5)
    # bear OB 10: touched at 12 (high 9.8 >= 8.8); never closed above 9.9
    assert _ev(out, ob.TOUCHED) == [(7, 1, 3, 1), (12, 1, 10, -1)]
    assert _ev(out, ob.INVALIDATED) == [(8, 1, 3, 1)]
    assert _ev(out, ob.RETEST) == [(9, 1, 3, -1)]
    assert _ev(out, ob.BRK_INVALIDATED) == []
    # nearest zones
    assert _zone(out, 8, ob.BEAR_OB) == (13.0, 12.0, 6, 8)
    assert _zone(out, 8, ob.BEAR_BRK) == (11.5, 9.5, 3, 8)  # known = row it became a breaker
    assert np.isnan(out[8, ob.BULL_OB]) and out[8, ob.BULL_OB + 2] == -1
    assert _zone(out, 12, ob.BEAR_OB) == (9.9, 8.8, 10, 11)  # close 9.6 inside: distance 0
    assert _zone(out, 14, ob.BULL_OB) == (9.4, 8.3, 13, 14)
    assert _zone(out, 14, ob.BEAR_OB) == (9.9, 8.8, 10, 11)
    assert out[14, ob.BULL_BRK + 2] == -1
    assert out[:, ob.ACTIVE].tolist() == [0] * 5 + [1] * 3 + [2] * 3 + [3] * 3 + [4]


def test_wick_invalidation_and_breaker_invalidation() -> None:
    wick = ob.OrderBlockParams(ob_close_invalidation=False)
    out = _run(make_bars(SEQ), wick)
    # bear OB [8.8, 9.9]: bar 14's close 9.9 is not above 9.9, its high 10 is
    assert _ev(_run(make_bars(SEQ)), ob.INVALIDATED) == [(8, 1, 3, 1)]
    assert _ev(out, ob.INVALIDATED) == [(8, 1, 3, 1), (14, 1, 10, -1)]
    assert _zone(out, 14, ob.BULL_BRK) == (9.9, 8.8, 10, 14)
    # bearish breaker [9.5, 11.5] (from bull OB 3) invalidated by a close above 11.5
    rows = [*SEQ[:10], (12.0, 9.9, 11.8)]
    out = _run(make_bars(rows))
    assert _ev(out, ob.RETEST) == [(9, 1, 3, -1)]
    assert _ev(out, ob.BRK_INVALIDATED) == [(10, 1, 3, -1)]
    assert (10, 1, 6, -1) in _ev(out, ob.TOUCHED)  # high 12 reaches bear OB [12, 13]
    assert out[10, ob.BEAR_BRK + 2] == -1 and out[10, ob.ACTIVE] == 1


def test_body_zone_and_atr_filter() -> None:
    bars = make_bars(SEQ)
    body = _run(bars, ob.OrderBlockParams(ob_use_body=True))
    assert _new(body, 5, ob.BULL_NEW) == (1, 11.0, 10.0, 3)  # open 11, close 10
    # ATR(1) at bar 5 = true range 2.0; candle 3's range 2.0 > 0.9*2.0 -> candle 4 (9.8)
    filt = _run(bars, ob.OrderBlockParams(ob_atr_period=1, ob_atr_mult=0.9))
    assert _new(filt, 5, ob.BULL_NEW) == (1, 11.0, 9.8, 4)
    none = _run(bars, ob.OrderBlockParams(ob_atr_period=1, ob_atr_mult=0.5))
    assert none[5, ob.BULL_NEW] == 0 and none[5, ob.BULL_NEW_REF] == -1
    # the filter is inactive while the ATR warms up (period 50 > 15 bars)
    warm = _run(bars, ob.OrderBlockParams(ob_atr_period=50, ob_atr_mult=0.1))
    assert_same(warm, _run(bars))


def test_capacity_evicts_oldest() -> None:
    out = _run(make_bars(SEQ), ob.OrderBlockParams(ob_max_active=2))
    assert _ev(out, ob.RETEST) == [(9, 1, 3, -1)]  # breaker 3 still there at 9
    assert out[11, ob.ACTIVE] == 2 and out[11, ob.BEAR_BRK + 2] == -1  # evicted at 11
    assert _zone(out, 14, ob.BEAR_OB) == (9.9, 8.8, 10, 11)
    assert out[14, ob.ACTIVE] == 2


def test_bad_input_is_rejected() -> None:
    bars = make_bars(SEQ)
    with pytest.raises(ValueError, match="structure_out"):
        ob.run(bars, sw.run(bars, 1, 1), DEFAULT)
    with pytest.raises(ValueError):
        ob.OrderBlockParams(ob_max_active=0)


def _reference(bars: np.ndarray, struct: np.ndarray, p: ob.OrderBlockParams) -> np.ndarray:
    """Plain-Python transcription of §3.4 (list of objects, full scans every bar)."""
    n = bars.shape[0]
    out = np.full((n, len(ob.COLUMNS)), np.nan)
    objs: list[dict] = []
    seq = 0
    atr, cnt, trs = np.nan, 0, []
    for i in range(n):
        h, lo, c = bars[i, HIGH], bars[i, LOW], bars[i, CLOSE]
        tr = (
            h - lo
            if i == 0
            else max(h - lo, abs(h - bars[i - 1, CLOSE]), abs(lo - bars[i - 1, CLOSE]))
        )
        cnt += 1
        trs.append(tr)
        if cnt == p.ob_atr_period:
            atr = sum(trs) / p.ob_atr_period
        elif cnt > p.ob_atr_period:
            atr = (atr * (p.ob_atr_period - 1) + tr) / p.ob_atr_period
        for col in (ob.BULL_NEW, ob.BEAR_NEW):
            out[i, col], out[i, col + 3] = 0, -1
        ev: dict[int, list] = {
            ob.TOUCHED: [],
            ob.INVALIDATED: [],
            ob.RETEST: [],
            ob.BRK_INVALIDATED: [],
        }
        up = c if p.ob_close_invalidation else h
        dn = c if p.ob_close_invalidation else lo
        for o in list(objs):
            d = o["dir"]
            hit = lo <= o["top"] if d > 0 else h >= o["bot"]
            broken = dn < o["bot"] if d > 0 else up > o["top"]
            if o["kind"] == "ob":
                if hit and not o["touched"]:
                    o["touched"] = True
                    ev[ob.TOUCHED].append(dict(o))  # snapshot: dir may flip below
                if broken:
                    ev[ob.INVALIDATED].append(dict(o))
                    o.update(kind="brk", dir=-d, brk_known=i)
            elif o["brk_known"] < i:
                if hit and not o["retested"]:
                    o["retested"] = True
                    ev[ob.RETEST].append(o)
                if broken:
                    ev[ob.BRK_INVALIDATED].append(o)
                    objs.remove(o)
        for col, lst in ev.items():
            out[i, col] = len(lst)
            last = max(lst, key=lambda o: o["seq"]) if lst else None
            out[i, col + 1] = last["ref"] if last else -1
            out[i, col + 2] = last["dir"] if last else 0
        for bull, kcol, rcol, col in (
            (True, ms.BULL_KIND, ms.BULL_REF, ob.BULL_NEW),
            (False, ms.BEAR_KIND, ms.BEAR_REF, ob.BEAR_NEW),
        ):
            if struct[i, kcol] == 0:
                continue
            piv = int(struct[i, rcol])
            lim = p.ob_atr_mult * atr if p.ob_atr_mult > 0 and not np.isnan(atr) else np.inf
            cand = [k for k in range(piv + 1, i) if bars[k, HIGH] - bars[k, LOW] <= lim]
            if not cand:
                continue
            key = (lambda k: (bars[k, LOW], -k)) if bull else (lambda k: (-bars[k, HIGH], -k))
            k = min(cand, key=key)
            if p.ob_use_body:
                top, bot = max(bars[k, OPEN], bars[k, CLOSE]), min(bars[k, OPEN], bars[k, CLOSE])
            else:
                top, bot = bars[k, HIGH], bars[k, LOW]
            out[i, col : col + 4] = (1, top, bot, k)
            if len(objs) == p.ob_max_active:
                objs.remove(min(objs, key=lambda o: o["seq"]))
            objs.append(
                dict(kind="ob", dir=1 if bull else -1, top=top, bot=bot, ref=k, known=i,
                     brk_known=-1, touched=False, retested=False, seq=seq)
            )  # fmt: skip
            seq += 1
        for cat, col in enumerate((ob.BULL_OB, ob.BEAR_OB, ob.BULL_BRK, ob.BEAR_BRK)):
            kind = "ob" if cat < 2 else "brk"
            d = 1 if cat % 2 == 0 else -1
            cands = [o for o in objs if o["kind"] == kind and o["dir"] == d]
            if not cands:
                out[i, col : col + 4] = (np.nan, np.nan, -1, -1)
                continue

            def dist(o: dict, d: int = d, c: float = c) -> float:
                return max(0.0, c - o["top"]) if d > 0 else max(0.0, o["bot"] - c)

            best = min(cands, key=lambda o: (dist(o), -o["seq"]))
            known = best["known"] if kind == "ob" else best["brk_known"]
            out[i, col : col + 4] = (best["top"], best["bot"], best["ref"], known)
        out[i, ob.ACTIVE] = len(objs)
    return out


@pytest.mark.parametrize(
    "params",
    [
        DEFAULT,
        ob.OrderBlockParams(ob_max_active=3, ob_close_invalidation=False),
        ob.OrderBlockParams(ob_use_body=True, ob_atr_mult=1.0, ob_max_active=200),
    ],
)
@pytest.mark.parametrize("length", [3, 20])
def test_real_data_matches_reference(params: ob.OrderBlockParams, length: int) -> None:
    bars = load_bars()[:6000]
    struct = ms.run(bars, sw.run(bars, length, length), ms.StructureParams())
    out = ob.run(bars, struct, params)
    assert_same(out, _reference(bars, struct, params))
    assert out[:, ob.BULL_NEW].sum() > 10 and out[:, ob.BEAR_NEW].sum() > 10
    assert out[:, ob.INVALIDATED].sum() > 5 and out[:, ob.RETEST].sum() > 5


def test_real_data_invariants() -> None:
    bars = load_bars()
    for length in (5, 50):
        struct = ms.run(bars, sw.run(bars, length, length), ms.StructureParams())
        out = ob.run(bars, struct, DEFAULT)
        for col, kcol, rcol in (
            (ob.BULL_NEW, ms.BULL_KIND, ms.BULL_REF),
            (ob.BEAR_NEW, ms.BEAR_KIND, ms.BEAR_REF),
        ):
            rows = np.flatnonzero(out[:, col])
            assert len(rows) > 20
            assert (struct[rows, kcol] > 0).all()  # only on break rows
            k = out[rows, col + 3].astype(int)
            assert (k > struct[rows, rcol]).all() and (k < rows).all()  # k in (p, t)
            assert (out[rows, col + 1] == bars[k, HIGH]).all()
            assert (out[rows, col + 2] == bars[k, LOW]).all()
        for col in (ob.TOUCHED, ob.INVALIDATED, ob.RETEST, ob.BRK_INVALIDATED):
            rows = np.flatnonzero(out[:, col])
            assert (out[rows, col + 1] < rows).all()  # ref (OB candle) before the event row
            assert (out[rows, col + 1] >= 0).all() and (np.abs(out[rows, col + 2]) == 1).all()
        assert out[:, ob.ACTIVE].max() <= DEFAULT.ob_max_active
        for col in (ob.BULL_OB, ob.BEAR_OB, ob.BULL_BRK, ob.BEAR_BRK):
            has = out[:, col + 2] >= 0
            assert (out[has, col + 3] <= np.flatnonzero(has)).all()  # known <= row
            assert (out[has, col] >= out[has, col + 1]).all()
        # active bullish OBs are at/below price (close mode): close >= bottom
        has = out[:, ob.BULL_OB + 2] >= 0
        assert (bars[has, CLOSE] >= out[has, ob.BULL_OB + 1]).all()


def test_live_stream_equals_batch() -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column.
    Both order-block scales run (on swings of length 50 and internal swings of length 5)."""
    bars = load_bars()
    for params in (DEFAULT, ob.OrderBlockParams(ob_close_invalidation=False)):
        assert_stream_equals_batch(bars, **params.model_dump())


def test_live_stream_equals_batch_other_files() -> None:
    params = ob.OrderBlockParams(ob_atr_mult=2.0, ob_max_active=16)
    for bars in other_files():
        assert_stream_equals_batch(bars, **params.model_dump())


@pytest.mark.causality
def test_prefix_property_every_t_first_1500() -> None:
    bars = load_bars()[:1500]
    assert_prefix_property(lambda b: _run(b, length=3), bars, range(1500))


@pytest.mark.causality
def test_prefix_property_random_cuts_long_file() -> None:
    bars = load_bars()
    params = ob.OrderBlockParams(ob_atr_mult=1.5, ob_max_active=8)
    full = _run(bars, params, length=10)
    rng = np.random.default_rng(11)
    ev = np.flatnonzero(full[:, ob.INVALIDATED])[::50]
    cuts = [*rng.integers(0, bars.shape[0], 30), *ev, *np.minimum(ev + 1, len(bars) - 1)]
    assert_prefix_property(lambda b: _run(b, params, length=10), bars, cuts)


@pytest.mark.causality
@given(
    length=st.integers(1, 25),
    wick=st.booleans(),
    body=st.booleans(),
    close_inval=st.booleans(),
    mult=st.sampled_from([0.0, 0.8, 2.0]),
    cap=st.integers(1, 40),
    start=st.integers(0, 30_000),
    cut=st.integers(0, 2_999),
)
def test_prefix_property_hypothesis(
    length: int,
    wick: bool,
    body: bool,
    close_inval: bool,
    mult: float,
    cap: int,
    start: int,
    cut: int,
) -> None:
    bars = load_bars()[start : start + 3000]
    params = ob.OrderBlockParams(
        ob_use_body=body, ob_close_invalidation=close_inval, ob_atr_mult=mult, ob_max_active=cap
    )
    cuts = [min(cut, len(bars) - 1)]
    assert_prefix_property(lambda b: _run(b, params, length, wick), bars, cuts)


def test_step_writes_every_column() -> None:
    """The batch buffer is np.empty: a row must not depend on what the buffer held."""
    bars = load_bars()[:3000]
    struct = ms.run(bars, sw.run(bars, 5, 5), ms.StructureParams())
    out = np.full((3000, len(ob.COLUMNS)), 123.25)
    scal, table = ob.init_state(DEFAULT)
    ob._run(bars, struct, False, True, 14, 0.0, scal, table, out)
    assert_same(out, ob.run(bars, struct, DEFAULT))
