"""PortfolioRisk decides the signals of one bar close without each waiting behind the previous
one's wait for the Executor's fresh view (issue #15), and keeps its guarantees: one read for all
of them, decisions one at a time in the order the signals entered (MAX_OPEN_POSITIONS holds), a
signal id decided once, and an Executor view never replaced by one taken before it.

The Executor is a fake whose ``fresh_view`` waits until the test releases it (a venue read that
takes as long as the test wants); whether a signal has entered the actor is read from
``PortfolioRisk.waiting``. Nothing here sleeps to synchronise."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from actors.messages import OrderIntent, Signal
from strategies.risk import Limits, PortfolioState
from tests.live.helpers import wait_for

pytestmark = pytest.mark.usefixtures("ray_session")
TF_MS = 900_000
BAR_MS = 1_751_400_000_000  # the bar the signals are on; its close is BAR_MS + TF_MS
CLOSE_MS = BAR_MS + TF_MS
OLD_EQUITY, FRESH_EQUITY = 10_000.0, 20_000.0  # the view before the close, the one read after it
RISK_FRACTION = 0.001  # price 100, stop 99: size = equity x 0.001


class GatedExecutor:
    """The Executor's calls PortfolioRisk makes. Its view predates the close; ``fresh_view``
    (the read as of the close) answers only once the test calls ``release``."""

    def __init__(self, positions: dict[str, float]) -> None:
        self.positions = positions
        self.gate = threading.Event()
        self.released_ns = 0
        self.asked: list[int] = []
        self.got: list[tuple[OrderIntent, list[tuple[str, int]] | None]] = []
        self.calls: list[list[str]] = []  # symbols of each submit / submit_many call

    def portfolio(self) -> PortfolioState:
        return PortfolioState(OLD_EQUITY, positions=dict(self.positions), reconciled=True,
                              as_of_ms=BAR_MS, version=1)  # fmt: skip

    def fresh_view(self, min_as_of_ms: int = 0) -> PortfolioState:
        self.asked.append(min_as_of_ms)
        if not self.gate.wait(120):
            raise TimeoutError("the test never released the view")
        return PortfolioState(FRESH_EQUITY, positions=dict(self.positions), reconciled=True,
                              as_of_ms=min_as_of_ms, version=2)  # fmt: skip

    def release(self) -> int:
        self.released_ns = time.monotonic_ns()
        self.gate.set()
        return self.released_ns

    def asks(self) -> list[int]:
        return list(self.asked)

    def submit(self, intent: OrderIntent, trace: list[tuple[str, int]] | None = None) -> None:
        self.got.append((intent, trace))
        self.calls.append([intent.symbol])

    def submit_many(
        self, intents: list[OrderIntent], traces: list[list[tuple[str, int]] | None]
    ) -> None:
        self.got += list(zip(intents, traces, strict=True))
        self.calls.append([i.symbol for i in intents])

    def submit_calls(self) -> list[list[str]]:
        return list(self.calls)

    def submitted(self) -> list[tuple[OrderIntent, list[tuple[str, int]] | None]]:
        return list(self.got)


class Keeper:
    """The StateKeeper calls PortfolioRisk makes, with the signals it journaled."""

    def __init__(self) -> None:
        self.meta: dict[str, str] = {}
        self.signals: list[str] = []

    def record_signal(self, signal: Signal, decision: Any) -> None:
        self.signals.append(signal.signal_id)

    def recorded(self) -> list[str]:
        return list(self.signals)

    def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value

    def closed_trades(self, limit: int = 100) -> list[tuple[int, float]]:
        return []


class Alerter:
    def send(self, event: Any) -> None:
        return None


def signal(symbol: str) -> Signal:
    return Signal(source=f"runner:t:{symbol}", seq=1, signal_id=f"t:{symbol}:15m:{BAR_MS}",
                  strategy="t", symbol=symbol, bar_time_ms=BAR_MS, side="buy", kind="market",
                  price=None, stop=99.0, target=102.0, reasons={"close": 100.0})  # fmt: skip


@contextmanager
def graph(
    concurrency: int | None = None, max_open: int = 3, positions: dict[str, float] | None = None
) -> Iterator[tuple[Any, Any, Any]]:
    """(risk, executor, keeper); the risk actor threaded as in actors.system unless
    ``concurrency`` says otherwise (1: one call at a time, the negative control)."""
    import ray

    from actors.risk import MAX_CONCURRENCY, PortfolioRisk

    opts: dict[str, Any] = {"num_cpus": 0}
    executor = ray.remote(GatedExecutor).options(**opts, max_concurrency=4).remote(positions or {})
    keeper = ray.remote(Keeper).options(**opts).remote()
    alerter = ray.remote(Alerter).options(**opts).remote()
    risk = ray.remote(PortfolioRisk).options(
        **opts, max_concurrency=concurrency or MAX_CONCURRENCY
    ).remote(
        Limits(risk_fraction=RISK_FRACTION, max_leverage=1.0, max_open_positions=max_open),
        executor, keeper, alerter, tf_ms=TF_MS,
    )  # fmt: skip
    try:
        ray.get(risk.portfolio.remote(), timeout=180)  # up (worker start-up on a busy machine)
        yield risk, executor, keeper
    finally:
        ray.get(executor.release.remote())  # never leave a call blocked in a killed actor
        for h in (risk, executor, keeper, alerter):
            ray.kill(h, no_restart=True)


def entered(risk: Any, ids: list[str]) -> None:
    """Wait until exactly ``ids`` (in this order) have entered ``on_signal`` and wait there."""
    import ray

    wait_for(lambda: ray.get(risk.waiting.remote(), timeout=30) == ids, 60,
             f"signals {ids} waiting in PortfolioRisk")  # fmt: skip


def first_ask(executor: Any) -> None:
    import ray

    wait_for(lambda: ray.get(executor.asks.remote()), 60, "the fresh-view ask")


def _journaled(risk: Any) -> list[str]:
    """Run inside the risk actor: the signals its keeper has journaled."""
    import ray

    return list(ray.get(risk.keeper.recorded.remote()))


def stamps(trace: list[tuple[str, int]] | None) -> dict[str, int]:
    return dict(trace or [])


def test_the_second_signal_of_a_close_waits_for_the_same_view_beside_the_first() -> None:
    import ray

    with graph() as (risk, executor, _):
        btc, eth = signal("BTC"), signal("ETH")
        first = risk.on_signal.remote(btc, [("sent", time.monotonic_ns())])
        first_ask(executor)  # the 1st waits for the read as of the close
        second = risk.on_signal.remote(eth, [("sent", time.monotonic_ns())])
        entered(risk, [btc.signal_id, eth.signal_id])  # the 2nd is in too, not in the mailbox
        assert ray.get(risk.ping.remote(), timeout=30) > 0  # probes answer meanwhile
        assert ray.wait([first, second], timeout=0)[0] == []  # neither decided without the view
        released = ray.get(executor.release.remote())
        d1, d2 = ray.get([first, second], timeout=60)
        assert (d1.approved, d2.approved) == (True, True), (d1, d2)
        # one read for both (the 2nd did not ask again), and both decided on it: sized from the
        # equity read after the close, not the 10,000 of the view before it
        assert ray.get(executor.asks.remote()) == [CLOSE_MS]
        got = wait_for(lambda: (s := ray.get(executor.submitted.remote())) and len(s) == 2 and s,
                       30, "both submits")  # fmt: skip
        assert sorted(i.symbol for i, _ in got) == ["BTC", "ETH"]
        for intent, trace in got:
            assert intent.size == pytest.approx(FRESH_EQUITY * RISK_FRACTION)
            t = stamps(trace)
            # entered before the view was released, decided after it
            assert t["risk_in"] < released < t["risk_fresh"] <= t["risk_out"], (intent.symbol, t)
        assert ray.get(risk.waiting.remote()) == []


def test_negative_control_one_call_at_a_time_the_second_waits_behind_the_first() -> None:
    """The same close with the actor run one call at a time (before this change): the 2nd signal
    cannot enter while the 1st waits for the view, so the assertion above on its ``risk_in``
    (before the release) fails here."""
    import ray

    with graph(concurrency=1) as (risk, executor, _):
        first = risk.on_signal.remote(signal("BTC"), [("sent", time.monotonic_ns())])
        first_ask(executor)
        second = risk.on_signal.remote(signal("ETH"), [("sent", time.monotonic_ns())])
        probe = risk.waiting.remote()
        # the actor's one thread is inside the 1st signal's wait: not even a probe runs
        assert ray.wait([probe], timeout=3)[0] == []
        released = ray.get(executor.release.remote())
        d1, d2 = ray.get([first, second], timeout=60)
        assert (d1.approved, d2.approved) == (True, True)
        got = wait_for(lambda: (s := ray.get(executor.submitted.remote())) and len(s) == 2 and s,
                       30, "both submits")  # fmt: skip
        eth = next(stamps(t) for i, t in got if i.symbol == "ETH")
        assert eth["risk_in"] > released  # it entered only once the 1st had its view
        assert ray.get(probe, timeout=30) == []


def test_concurrent_signals_cannot_both_take_the_last_position_slot() -> None:
    """MAX_OPEN_POSITIONS = 3 with two positions open: one slot. Six symbols signal on one close
    and all wait for the view at once; released together, exactly one is approved (the first to
    enter: decisions keep the order signals entered) and exactly one entry goes out."""
    import ray

    symbols = ["BTC", "ETH", "XRP", "DOGE", "ADA", "LTC"]
    with graph(max_open=3, positions={"SOL": 1.0, "AVAX": -2.0}) as (risk, executor, _):
        refs = []
        for k, s in enumerate(symbols):
            refs.append(risk.on_signal.remote(signal(s)))
            if k == 0:
                first_ask(executor)
            entered(risk, [signal(x).signal_id for x in symbols[: k + 1]])  # entry order fixed
        ray.get(executor.release.remote())
        decisions = ray.get(refs, timeout=60)
        assert [(d.approved, d.rule) for d in decisions] == [(True, "approved")] + [
            (False, "max_open_positions")
        ] * 5, decisions
        wait_for(lambda: ray.get(executor.submitted.remote()), 30, "the submit")
        got = ray.get(executor.submitted.remote())
        assert [i.symbol for i, _ in got] == ["BTC"]
        view = ray.get(risk.portfolio.remote())
        assert view.open_symbols() == {"SOL", "AVAX", "BTC"}  # BTC counted until acknowledged


def test_a_copy_of_a_signal_arriving_while_the_first_waits_is_decided_once() -> None:
    """Ray may deliver a message twice: the copy enters while the first still waits for the
    view; one decision (the same for both), one journaled signal, one entry to the Executor."""
    import ray

    with graph() as (risk, executor, keeper):
        btc = signal("BTC")
        first = risk.on_signal.remote(btc)
        first_ask(executor)
        copy = risk.on_signal.remote(btc)
        entered(risk, [btc.signal_id, btc.signal_id])  # both copies wait, neither decided
        ray.get(executor.release.remote())
        d1, d2 = ray.get([first, copy], timeout=60)
        assert d1.approved and d1 == d2
        again = ray.get(risk.on_signal.remote(btc), timeout=60)  # a late third copy: remembered
        assert again == d1
        # every decision journals its signal before its entry goes out, and the keeper runs its
        # calls from one caller in order: asked from the risk actor after the decisions returned,
        # it has every signal journaled by them
        journaled = ray.get(risk.__ray_call__.remote(_journaled), timeout=60)
        assert journaled == [btc.signal_id]
        got = wait_for(lambda: ray.get(executor.submitted.remote()), 30, "the submit")
        assert [i.symbol for i, _ in got] == ["BTC"]


def test_a_view_taken_before_the_one_held_is_ignored() -> None:
    """The actor's calls may run out of the order the Executor sent them: a view from before an
    entry was sent (same read, lower version) arriving after the view its acknowledgement
    carried must not replace it. (Before this change only ``as_of_ms`` was compared, and the
    equal read let the older view in: this test failed.)"""
    import ray

    with graph() as (risk, _, _):
        newer = PortfolioState(OLD_EQUITY, pending=frozenset({"BTC"}), reconciled=True,
                               as_of_ms=CLOSE_MS, version=10)  # fmt: skip
        older = PortfolioState(OLD_EQUITY, reconciled=True, as_of_ms=CLOSE_MS, version=9)
        ray.get(risk.on_portfolio.remote(newer))
        ray.get(risk.on_portfolio.remote(older))
        assert ray.get(risk.portfolio.remote()).pending == {"BTC"}
        # a later read wins whatever its version
        later = PortfolioState(OLD_EQUITY, reconciled=True, as_of_ms=CLOSE_MS + 1, version=3)
        ray.get(risk.on_submitted.remote("none", later))
        assert ray.get(risk.portfolio.remote()).pending == frozenset()


def test_a_close_signals_in_one_message_are_decided_in_order_and_sent_in_one_call() -> None:
    """A RunnerGroup's close (``on_signals``): one wait for the view, the decisions in the
    signals' order as consecutive ``on_signal`` calls would make them (MAX_OPEN_POSITIONS 2:
    the third is refused), the approved entries handed to the Executor in one call, every
    signal journaled; a copy of the message decides nothing again."""
    import ray

    with graph(max_open=2) as (risk, executor, _):
        sigs = [signal(s) for s in ("BTC", "ETH", "SOL")]
        sent = [[("sent", time.monotonic_ns())] for _ in sigs]
        ref = risk.on_signals.remote(sigs, sent)
        first_ask(executor)
        entered(risk, [s.signal_id for s in sigs])
        released = ray.get(executor.release.remote())
        decisions = ray.get(ref, timeout=60)
        assert [(d.approved, d.rule) for d in decisions][:2] == [(True, "approved")] * 2
        assert not decisions[2].approved and decisions[2].rule == "max_open_positions"
        assert ray.get(executor.asks.remote()) == [CLOSE_MS]
        assert ray.get(executor.submit_calls.remote()) == [["BTC", "ETH"]]
        for intent, trace in ray.get(executor.submitted.remote()):
            assert intent.size == pytest.approx(FRESH_EQUITY * RISK_FRACTION)
            t = stamps(trace)
            assert t["sent"] < t["risk_in"] < released < t["risk_fresh"] <= t["risk_out"]
        journaled = wait_for(lambda: (j := ray.get(risk.__ray_call__.remote(_journaled)))
                             and len(j) == 3 and j, 30, "three journaled signals")  # fmt: skip
        assert sorted(journaled) == sorted(s.signal_id for s in sigs)
        again = ray.get(risk.on_signals.remote(sigs), timeout=60)  # delivered twice
        assert again == decisions
        assert ray.get(executor.submit_calls.remote()) == [["BTC", "ETH"]]
