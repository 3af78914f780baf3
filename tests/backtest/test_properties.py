"""Property tests: accounting identities and causality hold for random data and signals."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from research.backtest import engine
from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.funding import FundingAlignment
from research.backtest.runner import run_backtest, run_grid
from strategies.signals import Signals
from tests.causality import prefix_failure


def _market(seed: int, n: int) -> Bars:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.concatenate(([100.0], c[:-1])) * np.exp(rng.normal(0, 0.003, n))  # gaps
    h = np.maximum(o, c) * (1 + np.abs(rng.normal(0, 0.005, n)))
    lo = np.minimum(o, c) * (1 - np.abs(rng.normal(0, 0.005, n)))
    return Bars.from_arrays(o, h, lo, c, timeframe="1h")


def _signals(seed: int, b: Bars) -> Signals:
    rng = np.random.default_rng(seed + 1)
    n = len(b)
    entry = rng.choice([-1, 0, 0, 0, 1], n).astype(np.int8)
    kind = rng.choice([0, 0, 1, 2], n).astype(np.int8)
    c = b.close
    offset = c * rng.uniform(0.001, 0.02, n)
    # limit below (long) / above (short) the close; stop entries the other way
    price = np.where(kind == 1, c - entry * offset, np.where(kind == 2, c + entry * offset, np.nan))
    ref = np.where(kind == 0, c, price)
    stop = np.where(rng.random(n) < 0.8, ref - entry * c * rng.uniform(0.005, 0.05, n), np.nan)
    target = np.where(rng.random(n) < 0.5, ref + entry * c * rng.uniform(0.005, 0.05, n), np.nan)
    trail = np.where(rng.random(n) < 0.3, c * 0.02, np.nan)
    stop[entry == 0] = np.nan
    target[entry == 0] = np.nan
    return Signals.build(
        n,
        entry=entry,
        entry_kind=kind,
        entry_price=np.where(entry == 0, np.nan, price),
        stop=stop,
        target=target,
        trail=trail,
        exit_long=rng.random(n) < 0.05,
        exit_short=rng.random(n) < 0.05,
    )


def _config(seed: int) -> BacktestConfig:
    rng = np.random.default_rng(seed + 2)
    return BacktestConfig(
        sizing=str(rng.choice(["fraction", "all_in"])),
        fraction=float(rng.uniform(0.1, 3)),
        leverage=float(rng.choice([1.0, 5.0, 20.0])),
        entry_ttl=int(rng.integers(1, 4)),
        costs=CostModel(slippage_bps=float(rng.uniform(0, 20)), max_leverage=25),
    )


def _funding(seed: int, n: int) -> FundingAlignment:
    rng = np.random.default_rng(seed + 3)
    return FundingAlignment(rng.normal(0, 0.001, n), n, 0, 3_600_000)


seeds = st.integers(0, 10_000)
lengths = st.integers(2, 300)


@settings(max_examples=40)
@given(seeds, lengths)
def test_equity_is_cash_plus_marked_position_every_bar(seed: int, n: int) -> None:
    b = _market(seed, n)
    r = run_backtest(b, _signals(seed, b), _config(seed), _funding(seed, n))
    pos = np.zeros(n)
    entry_px = np.zeros(n)
    for t in r.trades.itertuples():
        sign = 1 if t.side == "long" else -1
        pos[t.entry_bar : t.exit_bar] = sign * t.size
        entry_px[t.entry_bar : t.exit_bar] = t.entry_price
    np.testing.assert_allclose(r.position.to_numpy(), pos, rtol=1e-12, atol=1e-12)
    expected = r.cash.to_numpy() + pos * (b.close - entry_px)
    np.testing.assert_allclose(r.equity.to_numpy(), expected, rtol=1e-9, atol=1e-9)


@settings(max_examples=40)
@given(seeds, lengths)
def test_trade_pnl_minus_costs_sums_to_the_equity_change(seed: int, n: int) -> None:
    b = _market(seed, n)
    cfg = _config(seed)
    r = run_backtest(b, _signals(seed, b), cfg, _funding(seed, n))
    t = r.trades
    sign = np.where(t["side"] == "long", 1.0, -1.0)
    gross = (sign * t["size"] * (t["exit_price"] - t["entry_price"])).sum()
    change = r.metrics["final_equity"] - cfg.initial_cash
    assert gross - t["fees"].sum() + t["funding"].sum() == pytest.approx(change, abs=1e-6)
    assert t["pnl"].sum() == pytest.approx(change, abs=1e-6)
    assert t["fees"].sum() == pytest.approx(r.metrics["fees_paid"], abs=1e-9)


@settings(max_examples=40)
@given(seeds, lengths)
def test_fills_lie_inside_their_own_bar(seed: int, n: int) -> None:
    b = _market(seed, n)
    cfg = _config(seed)
    r = run_backtest(b, _signals(seed, b), cfg, _funding(seed, n))
    f = cfg.costs.slippage_bps / 1e4
    for t in r.trades.itertuples():
        assert t.entry_bar > 0  # nothing fills on the bar whose close made the signal
        for bar, px in ((t.entry_bar, t.entry_price), (t.exit_bar, t.exit_price)):
            assert b.low[bar] * (1 - f) * (1 - 1e-12) <= px <= b.high[bar] * (1 + f) * (1 + 1e-12)


def _per_bar(result: Any, n: int) -> dict[str, np.ndarray]:
    """Everything a run decided, as rows by bar: the equity/cash/position curves and each
    trade's fields summed onto its exit bar (any change to a closed trade changes that row)."""
    rows = {
        "equity": result.equity.to_numpy(), "cash": result.cash.to_numpy(),
        "position": result.position.to_numpy(), "exits": np.zeros(n),
    }  # fmt: skip
    t = result.trades
    np.add.at(rows["exits"], t["exit_bar"].to_numpy(), 1.0)
    sign = np.where(t["side"] == "long", 1.0, -1.0)
    fields = {"entry_bar": t["entry_bar"], "signed_size": sign * t["size"]}
    for f in ("entry_price", "exit_price", "fees", "funding", "pnl"):
        fields[f] = t[f]
    for name, values in fields.items():
        rows[name] = np.zeros(n)
        np.add.at(rows[name], t["exit_bar"].to_numpy(), np.asarray(values, dtype=np.float64))
    return rows


def engine_prefix_failure(seed: int, n: int, cuts: Iterable[int]) -> str | None:
    """The prefix check of the engine on random bars, signals, costs and funding: every bar of
    a run on fresh copies of the first t + 1 bars equals the full run's. The end-of-data close
    is off: it would (rightly) close at the last bar of the prefix a position the full run
    still holds."""
    b = _market(seed, n)
    sig = _signals(seed, b)
    cfg = _config(seed).model_copy(update={"close_at_end": False})
    fields = list(sig.__dataclass_fields__)
    data = (
        b.open,
        b.high,
        b.low,
        b.close,
        _funding(seed, n).rates,
        *(getattr(sig, f) for f in fields),
    )

    def run(d: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
        o, h, lo, c, rates, *sig_arrays = d
        m = len(o)
        r = run_backtest(
            Bars.from_arrays(o, h, lo, c, timeframe="1h"),
            Signals.build(m, **dict(zip(fields, sig_arrays, strict=True))),
            cfg, FundingAlignment(rates, m, 0, 3_600_000),
        )  # fmt: skip
        return _per_bar(r, m)

    return prefix_failure(run, data, cuts)


@pytest.mark.causality
@settings(max_examples=40)
@given(seeds, st.integers(20, 300), st.data())
def test_prefix_of_the_data_gives_the_same_trades(seed: int, n: int, data: st.DataObject) -> None:
    """No look-ahead: cutting the future off changes nothing already decided, on any bar."""
    cuts = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))
    found = engine_prefix_failure(seed, n, cuts)
    assert found is None, found


def peeking_engine(guarded: bool) -> Any:
    """``engine.simulate`` that fills bar i's open orders at bar i + 1's open (a one-bar
    ``o[i + 1]`` read; ``guarded`` stops at the last bar)."""
    simulate = engine.simulate

    @njit
    def peek(o, h, lo, c, *rest):  # type: ignore[no-untyped-def]
        n = o.shape[0]
        nxt = np.empty(n)
        for i in range(n):
            nxt[i] = o[min(i + 1, n - 1)] if guarded else o[i + 1]
        return simulate(nxt, h, lo, c, *rest)

    return peek


@pytest.mark.causality
@pytest.mark.parametrize("guarded", [False, True], ids=["reads-past-the-end", "guarded"])
def test_negative_control_a_look_ahead_engine_fails_the_same_check(
    guarded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backtest-engine layer: the check above flags an engine that reads the next bar's open
    (the old check, which compared only bars before ``cut - 1``, let the guarded read pass)."""
    monkeypatch.setattr(engine, "simulate", peeking_engine(guarded))
    found = engine_prefix_failure(11, 200, range(2, 200))
    assert found is not None
    assert ("out-of-bounds" in found) is not guarded, found


@settings(max_examples=40)
@given(seeds, lengths)
def test_grid_summary_matches_single_runs(seed: int, n: int) -> None:
    b = _market(seed, n)
    sigs = [_signals(seed + k, b) for k in range(3)]
    cfg = _config(seed)
    fund = _funding(seed, n)
    stacked = {f: np.stack([getattr(s, f) for s in sigs]) for f in sigs[0].__dataclass_fields__}
    grid = run_grid(b, stacked, cfg, fund)
    for k, s in enumerate(sigs):
        one = run_backtest(b, s, cfg, fund).metrics
        row = grid.iloc[k]
        for key in ("final_equity", "trade_count", "max_drawdown", "sharpe", "sortino", "exposure"):
            assert row[key] == pytest.approx(one[key], rel=1e-9, abs=1e-9), key


@settings(max_examples=40)
@given(seeds, lengths)
def test_engine_metrics_equal_the_pure_metric_functions_on_the_curve(seed: int, n: int) -> None:
    """The kernel's online accumulators (all a grid run keeps) match strategies.metrics."""
    from strategies import metrics as m

    b = _market(seed, n)
    cfg = _config(seed)
    r = run_backtest(b, _signals(seed, b), cfg, _funding(seed, n))
    ref = m.summary(
        r.equity.to_numpy(), r.trades["pnl"].to_numpy(), initial_equity=cfg.initial_cash,
        ppy=m.periods_per_year("1h"), exposure_bars=int(round(r.metrics["exposure"] * n)),
        fees=r.metrics["fees_paid"], funding=-r.metrics["funding_paid"],
    )  # fmt: skip
    for key, want in ref.items():
        assert r.metrics[key] == pytest.approx(want, rel=1e-7, abs=1e-9), key
