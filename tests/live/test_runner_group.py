"""RunnerGroup: several symbols' StrategyRunners in one actor, each exactly as a lone runner,
one symbol's failure isolated from the others; the layouts ``Placement`` cuts symbols into."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import pytest

from actors.messages import Bar
from actors.placement import Placement
from actors.runner import StrategyRunner
from actors.runner_group import RunnerGroup
from tests.conftest import MARKET

STRATEGY = "liquidity_sweep"
SYMBOLS = ("BTC", "ETH", "SOL")


def shipped_bars(symbol: str, n: int) -> list[Bar]:
    path = MARKET / "hyperliquid_perp_2025" / f"hyperliquid_{symbol}USDC_15m.csv.gz"
    rows = pd.read_csv(path).tail(n).itertuples(index=False)
    return [Bar(source="test", seq=k, venue="paper", symbol=symbol, timeframe="15m",
                time_ms=int(t), open=o, high=h, low=lo, close=c, volume=v, backfilled=False)
            for k, (t, o, h, lo, c, v) in enumerate(rows)]  # fmt: skip


def closes(n: int) -> list[list[Bar]]:
    """``n`` bar closes of every symbol (one publication each, symbols in order)."""
    series = [shipped_bars(s, n) for s in SYMBOLS]
    return [list(bars) for bars in zip(*series, strict=True)]


def test_each_symbol_runs_as_a_lone_runner_would() -> None:
    group = RunnerGroup([(s, STRATEGY, {}) for s in SYMBOLS], "15m", None, None)
    lone = {s: StrategyRunner(s, "15m", STRATEGY, {}, None, None) for s in SYMBOLS}
    got: list[Any] = []
    want: list[Any] = []
    for close in closes(1500):
        got += group.on_bars(close)
        want += [lone[b.symbol].on_bar(b) for b in close]
    assert sum(s is not None for s in want) > 10  # the comparison covers real signals
    assert got == want
    assert group.state() == {s: r.state() for s, r in lone.items()}
    assert group.state("ETH") == lone["ETH"].state()


def test_a_failing_symbol_does_not_drop_the_others(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    group = RunnerGroup([(s, STRATEGY, {}) for s in SYMBOLS], "15m", None, None)
    batches = closes(400)
    for close in batches[:-1]:
        group.on_bars(close)

    def broken(*_: Any) -> Any:
        raise RuntimeError("corrupt detector state")

    monkeypatch.setattr(group.runners["BTC"].stream, "update", broken)
    last = batches[-1]
    with caplog.at_level(logging.ERROR):
        out = group.on_bars(last)
    assert len(out) == len(SYMBOLS) and out[0] is None
    assert "BTC bar" in caplog.text and "corrupt detector state" in caplog.text
    states = group.state()
    assert states["ETH"]["last_ms"] == states["SOL"]["last_ms"] == last[0].time_ms
    assert states["BTC"]["last_ms"] == batches[-2][0].time_ms  # its bar is not in its state


def test_a_bar_of_a_symbol_it_does_not_host_is_refused() -> None:
    group = RunnerGroup([("BTC", STRATEGY, {})], "15m", None, None)
    (bar,) = shipped_bars("ETH", 1)
    with pytest.raises(ValueError, match="got a ETH bar"):
        group.on_bar(bar)
    with pytest.raises(ValueError, match="at least one symbol"):
        RunnerGroup([], "15m", None, None)
    lone = StrategyRunner("BTC", "15m", STRATEGY, {}, None, None)
    with pytest.raises(ValueError, match="state of ETH"):
        lone.state("ETH")


@pytest.mark.parametrize(
    ("per_actor", "sizes"),
    [(0, [12]), (1, [1] * 12), (5, [5, 5, 2]), (12, [12]), (50, [12])],
)
def test_placement_cuts_symbols_into_groups(per_actor: int, sizes: list[int]) -> None:
    symbols = [f"S{i}" for i in range(12)]
    groups = Placement(runners_per_actor=per_actor).runner_groups(symbols)
    assert [len(g) for g in groups] == sizes
    assert [s for g in groups for s in g] == symbols  # every symbol once, in order


def test_layouts_and_bad_grouping() -> None:
    assert Placement().runners_per_actor == 0  # one machine: one runner process
    assert Placement.cluster().runners_per_actor == 1  # a cluster spreads runners over nodes
    with pytest.raises(ValueError, match="runners_per_actor"):
        Placement(runners_per_actor=-1)


class RiskStub:
    """PortfolioRisk's two entry points, recording what each message carried."""

    def __init__(self) -> None:
        self.messages: list[list[tuple[str, int]]] = []

    def on_signal(self, signal: Any, trace: Any = None) -> None:
        self.messages.append([(signal.symbol, signal.bar_time_ms)])

    def on_signals(self, signals: list[Any], traces: Any = None) -> None:
        self.messages.append([(s.symbol, s.bar_time_ms) for s in signals])

    def got(self) -> list[list[tuple[str, int]]]:
        return list(self.messages)


@pytest.mark.usefixtures("ray_session")
def test_a_close_signals_reach_portfolio_risk_as_one_message() -> None:
    """Every close with signals is one message to PortfolioRisk carrying all of them (the
    batch decided together, ``PortfolioRisk.on_signals``), in the symbols' order."""
    import ray

    risk = ray.remote(RiskStub).options(num_cpus=0).remote()
    try:
        group = RunnerGroup([(s, STRATEGY, {}) for s in SYMBOLS], "15m", None, risk)
        want = []
        for close in closes(1500):
            sigs = [(s.symbol, s.bar_time_ms) for s in group.on_bars(close) if s is not None]
            if sigs:
                want.append(sigs)
        got = ray.get(risk.got.remote())
        assert got == want
        assert any(len(m) > 1 for m in got)  # closes where several symbols signalled
    finally:
        ray.kill(risk, no_restart=True)
