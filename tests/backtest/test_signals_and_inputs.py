"""Bad inputs raise clear errors; the Signals contract, registry and funding alignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from research.backtest.bars import Bars, BarsError, atr
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.funding import align_funding
from research.backtest.runner import run_backtest, run_grid
from strategies import registry, sma_cross
from strategies.signals import LIMIT, STOP, SignalError, Signals
from tests.backtest.helpers import bars, flat


def test_build_fills_defaults() -> None:
    s = Signals.build(3)
    assert s.entry.dtype == np.int8 and not s.entry.any()
    assert np.isnan(s.stop).all() and not s.exit_long.any()
    assert s.row(1)["entry"] == 0 and len(s) == 3


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"entry": [0, 2, 0]}, "entry must be -1, 0 or +1"),
        ({"entry": [0, 1]}, "expected shape (3,)"),
        ({"entry": [1, 0, 0], "entry_kind": [7, 0, 0]}, "entry_kind"),
        ({"entry": [1, 0, 0], "entry_kind": [LIMIT, 0, 0]}, "positive finite entry_price"),
        ({"entry": [1, 0, 0], "stop": [-1.0, np.nan, np.nan]}, "stop must be NaN or a positive"),
        ({"entry": [1, 0, 0], "trail": [np.inf, np.nan, np.nan]}, "trail must be NaN"),
        (
            {"entry": [1, 0, 0], "entry_kind": [STOP, 0, 0], "entry_price": [100, np.nan, np.nan],
             "stop": [101, np.nan, np.nan]},
            "stop on the wrong side at bar 0: long",
        ),
        (
            {"entry": [0, -1, 0], "entry_kind": [0, LIMIT, 0], "entry_price": [np.nan, 100, np.nan],
             "target": [np.nan, 101, np.nan]},
            "target on the wrong side at bar 1: short",
        ),
    ],
)  # fmt: skip
def test_bad_signals_name_the_problem(kwargs: dict, needle: str) -> None:
    with pytest.raises(SignalError, match=None) as err:
        Signals.build(3, **kwargs)
    assert needle in str(err.value)


def test_zero_bars_rejected() -> None:
    with pytest.raises(SignalError, match="at least one bar"):
        Signals.build(0)


def test_market_stop_side_checked_against_close_in_the_engine() -> None:
    b = bars([flat(100), flat(100), flat(100)])
    sig = Signals.build(3, entry=[1, 0, 0], stop=[100.5, np.nan, np.nan])  # above the close
    with pytest.raises(SignalError, match="stop on the wrong side"):
        run_backtest(b, sig)
    with pytest.raises(SignalError, match="close: expected shape"):
        sig.validate(np.ones(2))


def test_signals_and_bars_length_mismatch() -> None:
    with pytest.raises(SignalError, match="signals have 2 bars, prices have 3"):
        run_backtest(bars([flat(), flat(), flat()]), Signals.build(2))


def test_risk_sizing_without_stop_is_an_error() -> None:
    b = bars([flat(), flat(), flat()])
    with pytest.raises(SignalError, match="risk sizing needs a stop"):
        run_backtest(b, Signals.build(3, entry=[1, 0, 0]), BacktestConfig(sizing="risk"))
    with pytest.raises(SignalError, match="risk sizing needs a stop"):
        run_grid(b, {"entry": np.array([[1, 0, 0]])}, BacktestConfig(sizing="risk"))


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([], "empty"),
        ([(1, 2, 0.5, np.nan)], "close has NaN"),
        ([(1, 2, 0.5, -1)], "close is not positive"),
        ([(1, 0.9, 0.5, 1)], "inconsistent OHLC"),
    ],
)
def test_bad_bars(rows: list, needle: str) -> None:
    with pytest.raises(BarsError, match=needle):
        a = np.array(rows, dtype=float).reshape(-1, 4)
        Bars.from_arrays(a[:, 0], a[:, 1], a[:, 2], a[:, 3])


def test_bars_from_frame_variants_and_errors() -> None:
    df = pd.DataFrame({"timestamp": [0, 60_000], "open": [1.0, 1], "high": [1.0, 1],
                       "low": [1.0, 1], "close": [1.0, 1]})  # fmt: skip
    assert len(Bars.from_frame(df, "1m")) == 2
    indexed = df.drop(columns="timestamp").set_index(pd.date_range("2024", periods=2, freq="1min"))
    b = Bars.from_frame(indexed, "1m")
    assert b.ts[1] - b.ts[0] == 60_000 and b.index.tz is not None
    with pytest.raises(BarsError, match="strictly increasing"):
        Bars.from_frame(df.assign(timestamp=[5, 5]), "1m")
    with pytest.raises(BarsError, match="missing column"):
        Bars.from_frame(df.drop(columns="low"), "1m")
    with pytest.raises(BarsError, match="empty"):
        Bars.from_frame(df.iloc[:0], "1m")
    with pytest.raises(BarsError, match="timestamp"):
        Bars.from_frame(df.drop(columns="timestamp"), "1m")


def test_atr_is_causal_and_warms_up() -> None:
    b = bars([(100, 101, 99, 100)] * 20)
    a = atr(b, 14)
    assert np.isnan(a[:13]).all() and a[13:] == pytest.approx(2.0)
    assert np.isnan(atr(bars([flat()] * 3), 14)).all()


@pytest.mark.parametrize(
    "kwargs",
    [{"fraction": -1}, {"leverage": 0}, {"sizing": "martingale"}, {"bogus": 1},
     {"leverage": 50}],  # above the default max leverage 40
)  # fmt: skip
def test_bad_config_is_rejected(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        BacktestConfig(**kwargs)


def test_costs_defaults_are_hyperliquid_and_on() -> None:
    c = CostModel()
    assert (c.taker_fee, c.maker_fee) == (0.00045, 0.00015)
    assert c.funding and c.slippage_bps > 0
    assert c.maintenance_rate == pytest.approx(1 / 80)
    with pytest.raises(ValidationError):
        CostModel(taker_fee=-0.1)


def test_funding_alignment_sums_prints_inside_each_bar() -> None:
    hour = 3_600_000
    bar_ts = np.arange(3) * 4 * hour  # 4h bars
    f_ts = np.arange(-2, 13) * hour  # hourly prints, two before the first bar
    rates = np.ones(f_ts.size) * 0.001
    out = align_funding(bar_ts, 4 * hour, f_ts, rates)
    assert out.total() == pytest.approx([0.004, 0.004, 0.004])
    assert out.rates == pytest.approx([0.001, 0.001, 0.001])  # the print at each bar's open
    assert out.prints_used == 12 and out.missing_prints == 0 and out.interval_ms == hour
    holes = align_funding(bar_ts, 4 * hour, np.delete(f_ts, [5, 6]), np.delete(rates, [5, 6]))
    assert holes.missing_prints == 2 and list(holes.total()) == pytest.approx([0.003, 0.003, 0.004])


def test_funding_alignment_bad_inputs() -> None:
    with pytest.raises(ValueError, match="NaN"):
        align_funding([0], 60_000, [0], [np.nan])
    with pytest.raises(ValueError, match="strictly increasing"):
        align_funding([0], 60_000, [5, 5], [0.1, 0.1])
    with pytest.raises(ValueError, match="differ in length"):
        align_funding([0], 60_000, [5], [0.1, 0.1])
    with pytest.raises(ValueError, match="positive"):
        align_funding([0], 0, [5], [0.1])
    assert align_funding([0], 60_000, [], []).prints_used == 0


def test_funding_length_must_match_bars() -> None:
    from research.backtest.funding import FundingAlignment

    b = bars([flat()] * 3)
    with pytest.raises(ValueError, match="funding rates"):
        run_backtest(b, Signals.build(3), BacktestConfig(sizing="all_in"),
                     FundingAlignment(np.zeros(2), 0, 0, 0))  # fmt: skip


def test_grid_input_errors() -> None:
    b = bars([flat()] * 3)
    cfg = BacktestConfig(sizing="all_in")
    with pytest.raises(SignalError, match="unknown signal field"):
        run_grid(b, {"entry": np.zeros(3), "bogus": None}, cfg)
    with pytest.raises(SignalError, match="disagree on the number of variants"):
        run_grid(b, {"entry": np.zeros((2, 3)), "exit_long": np.zeros((3, 3))}, cfg)
    with pytest.raises(SignalError, match="expected shape"):
        run_grid(b, {"entry": np.zeros((2, 4))}, cfg)
    with pytest.raises(ValueError, match="configs"):
        run_grid(b, {"entry": np.zeros((2, 3))}, [cfg] * 3)
    with pytest.raises(ValueError, match="empty"):
        run_grid(b, {"entry": np.zeros((2, 3))}, [])
    per_variant = run_grid(b, {"entry": np.array([[1, 0, 0], [1, 0, 0]])},
                           [cfg, BacktestConfig(sizing="all_in", initial_cash=5_000)])  # fmt: skip
    eq = per_variant["final_equity"].to_numpy()
    assert eq[0] < 10_000 and eq[1] == pytest.approx(eq[0] / 2)  # same trade, half the cash


def test_registry_lookup() -> None:
    assert "sma_cross" in registry.names()
    assert registry.get("sma_cross") is sma_cross
    with pytest.raises(KeyError, match="unknown strategy .x.; known: .*sma_cross"):
        registry.get("x")


def test_registry_rejects_modules_without_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.STRATEGIES, "broken", "strategies.sizing")
    with pytest.raises(TypeError, match="lacks `Params`"):
        registry.get("broken")
