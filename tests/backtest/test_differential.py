"""Differential tests against backtesting.py and vectorbt on real shipped data.

Deliberate differences, neutralised here:
* backtesting.py trades whole units; `FractionalBacktest(fractional_unit=1e-8)` trades whole
  satoshis, and our engine gets the same lot via `size_step=1e-8`.
* backtesting.py's `crossover(a, b)` needs a strict a[-2] < b[-2]; ours fires on
  fast[t-1] <= slow[t-1], so a cross that passes through an exact tie is not missed (with
  (10, 40) on this file the SMAs tie exactly at 2025-02-22 09:00; backtesting.py, which
  computes on satoshi-scaled prices, breaks that tie by rounding and exits one bar earlier).
  The test uses a pair without ties and asserts that guard.
* At the end of data we close an open position at the last close; backtesting.py's
  `finalize_trades=True` closes it at the last bar's *open* (it re-runs the broker on the
  last bar). We run it with `finalize_trades=False`: the position stays open, marked at the
  last close, which equals our zero-fee end-of-data exit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.runner import run_backtest
from strategies import sma_cross
from tests.conftest import MARKET

DATA = MARKET / "hyperliquid_perp_2025" / "hyperliquid_BTCUSDC_15m.csv.gz"
FAST, SLOW = 12, 48  # (10, 40) has an exact SMA tie on this file: see the module doc


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    if not DATA.exists():
        pytest.skip(f"shipped data missing: {DATA}")
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def ours(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    bars = Bars.from_frame(frame, "15m")
    sig = sma_cross.generate(bars, sma_cross.Params(fast=FAST, slow=SLOW))
    cfg = BacktestConfig(sizing="all_in", size_step=1e-8, costs=CostModel.zero())
    return run_backtest(bars, sig, cfg)


def test_same_trades_and_return_as_backtesting_py(frame: pd.DataFrame, ours) -> None:  # type: ignore[no-untyped-def]
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest, crossover

    def rolling(x: np.ndarray, w: int) -> np.ndarray:
        return pd.Series(x).rolling(w).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(rolling, self.data.Close, FAST)
            self.slow = self.I(rolling, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    df = frame.rename(columns=str.capitalize)
    df.index = pd.to_datetime(df.pop("Timestamp"), unit="ms", utc=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(
            df, SmaCross, cash=10_000, commission=0.0, trade_on_close=False,
            exclusive_orders=True, finalize_trades=False, fractional_unit=1e-8,
        )  # fmt: skip
        stats = bt.run()
    theirs = stats["_trades"].sort_values("EntryTime").reset_index(drop=True)
    mine = ours.trades
    assert len(mine) > 50, "too few trades for a meaningful comparison"
    if mine["exit_reason"].iloc[-1] == "end_of_data":
        # backtesting.py leaves it open and marks it at the last close, which is what our
        # zero-fee end-of-data exit books; it is compared through the final equity below
        mine = mine.iloc[:-1]
    assert len(mine) == len(theirs)
    np.testing.assert_array_equal(
        mine["entry_time"].to_numpy(), theirs["EntryTime"].dt.tz_convert("UTC").to_numpy()
    )
    np.testing.assert_array_equal(
        mine["exit_time"].to_numpy(), theirs["ExitTime"].dt.tz_convert("UTC").to_numpy()
    )
    np.testing.assert_allclose(mine["entry_price"], theirs["EntryPrice"], rtol=1e-12)
    np.testing.assert_allclose(mine["exit_price"], theirs["ExitPrice"], rtol=1e-12)
    np.testing.assert_allclose(mine["size"], theirs["Size"], rtol=1e-9)
    their_return = stats["Equity Final [$]"] / 10_000 - 1
    assert ours.metrics["total_return"] == pytest.approx(their_return, rel=1e-6)


def test_trade_count_agrees_with_vectorbt(frame: pd.DataFrame, ours) -> None:  # type: ignore[no-untyped-def]
    import vectorbt as vbt

    close = frame["close"]
    sig = sma_cross.generate(close.to_numpy(), sma_cross.Params(fast=FAST, slow=SLOW))
    # vectorbt fills on the signal bar; shifting by one bar and pricing at the open gives
    # our next-open fill
    entries = pd.Series(sig.entry == 1).shift(1, fill_value=False)
    exits = pd.Series(sig.exit_long).shift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(
        close, entries, exits, price=frame["open"], init_cash=10_000, fees=0.0, freq="15min"
    )
    trades = pf.trades.records_readable
    assert len(trades) == len(ours.trades)
    np.testing.assert_allclose(
        trades["Avg Entry Price"].to_numpy(), ours.trades["entry_price"].to_numpy(), rtol=1e-12
    )
    assert pf.total_return() == pytest.approx(ours.metrics["total_return"], rel=1e-6)


def test_crossover_definitions_coincide_on_this_file(frame: pd.DataFrame) -> None:
    """Guard for the documented difference: no (near-)tie of the SMAs on this file."""
    c = frame["close"]
    d = (c.rolling(FAST).mean() - c.rolling(SLOW).mean()).to_numpy()
    assert np.nanmin(np.abs(d)) > 1e-6
