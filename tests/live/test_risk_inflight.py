"""PortfolioRisk hands entries to the Executor without waiting, and still never lets two entries
race past the limits: an entry stays in flight until the Executor acknowledges its cloid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.messages import OrderIntent, Signal
from strategies.risk import Limits, PortfolioState
from tests.live.helpers import wait_for

pytestmark = pytest.mark.usefixtures("ray_session")


class SilentExecutor:
    """Takes submits and never answers them (a slow venue, or an Executor that died)."""

    def __init__(self) -> None:
        self.got: list[tuple[OrderIntent, list[tuple[str, int]] | None]] = []

    def portfolio(self) -> PortfolioState:
        return PortfolioState(equity=10_000.0, reconciled=True)

    def submit(self, intent: OrderIntent, trace: list[tuple[str, int]] | None = None) -> None:
        self.got.append((intent, trace))

    def submitted(self) -> list[tuple[OrderIntent, list[tuple[str, int]] | None]]:
        return list(self.got)


class Keeper:
    """The StateKeeper calls PortfolioRisk makes: signals, the persisted equity peak, trades."""

    def __init__(self) -> None:
        self.meta: dict[str, str] = {}

    def record_signal(self, *_: Any) -> None:
        return None

    def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value

    def closed_trades(self, limit: int = 100) -> list[tuple[int, float]]:
        return []


class Alerter:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    def send(self, event: Any) -> None:
        self.kinds.append(event.kind)

    def count(self, kind: str) -> int:
        return self.kinds.count(kind)


def signal(symbol: str, n: int) -> Signal:
    return Signal(source=f"runner:t:{symbol}", seq=n, signal_id=f"t:{symbol}:15m:{n}",
                  strategy="t", symbol=symbol, bar_time_ms=n, side="buy", kind="market",
                  price=None, stop=99.0, target=102.0, reasons={"close": 100.0})  # fmt: skip


def test_entries_in_flight_count_until_acknowledged(tmp_path: Path) -> None:
    import ray

    from actors.risk import PortfolioRisk

    opts: dict[str, Any] = {"num_cpus": 0}
    executor = ray.remote(SilentExecutor).options(**opts).remote()
    keeper = ray.remote(Keeper).options(**opts).remote()
    alerter = ray.remote(Alerter).options(**opts).remote()
    risk = ray.remote(PortfolioRisk).options(**opts).remote(
        Limits(risk_fraction=0.001, max_leverage=1.0, max_open_positions=1), executor, keeper,
        alerter,
    )  # fmt: skip
    try:
        ray.get(risk.portfolio.remote(), timeout=180)  # up (worker start-up on a busy machine)
        # decided and handed over at once, although the Executor never answers
        first = ray.get(risk.on_signal.remote(signal("BTC", 1), [("sent", 1)]), timeout=30)
        assert (first.approved, first.rule) == (True, "approved")
        got = wait_for(lambda: ray.get(executor.submitted.remote()), 30, "the submit")
        intent, trace = got[0]
        assert intent.symbol == "BTC" and [s for s, _ in trace or []] == [
            "sent", "risk_in", "risk_fresh", "risk_out"]  # fmt: skip
        # its notional (size x the signal's reference close) counts in the exposure caps
        view = ray.get(risk.portfolio.remote())
        assert view.in_flight == ((intent.cloid, "BTC", pytest.approx(intent.size * 100.0)),)
        # the unacknowledged entry counts: same symbol in flight, and MAX_OPEN_POSITIONS=1
        same = ray.get(risk.on_signal.remote(signal("BTC", 2)))
        other = ray.get(risk.on_signal.remote(signal("ETH", 3)))
        assert (same.approved, same.rule) == (False, "entry_in_flight")
        assert (other.approved, other.rule) == (False, "max_open_positions")
        # the Executor's acknowledgement (its view: the entry was refused, nothing open) frees it
        ray.get(risk.on_submitted.remote(intent.cloid, PortfolioState(10_000.0, reconciled=True)))
        again = ray.get(risk.on_signal.remote(signal("ETH", 4)))
        assert (again.approved, again.rule) == (True, "approved")
        assert [c for c, _, _ in ray.get(risk.portfolio.remote()).in_flight] != [intent.cloid]
        assert len(ray.get(executor.submitted.remote())) == 2
    finally:
        for h in (risk, executor, keeper, alerter):
            ray.kill(h, no_restart=True)


def test_an_entry_never_acknowledged_raises_critical_then_the_executor_view_decides(
    tmp_path: Path,
) -> None:
    import ray

    from actors.risk import PortfolioRisk

    opts: dict[str, Any] = {"num_cpus": 0}
    executor = ray.remote(SilentExecutor).options(**opts).remote()
    keeper = ray.remote(Keeper).options(**opts).remote()
    alerter = ray.remote(Alerter).options(**opts).remote()
    risk = ray.remote(PortfolioRisk).options(**opts).remote(
        Limits(risk_fraction=0.001, max_leverage=1.0), executor, keeper, alerter,
        submit_timeout_s=0.0,
    )  # fmt: skip
    try:
        assert ray.get(risk.on_signal.remote(signal("BTC", 1))).approved
        # overdue at once (timeout 0): CRITICAL, then the Executor's own view (nothing pending)
        view = ray.get(risk.portfolio.remote())
        assert "BTC" not in view.pending
        wait_for(lambda: ray.get(alerter.count.remote("submit_unknown")) == 1, 30,
                 "the CRITICAL submit_unknown event")  # fmt: skip
    finally:
        for h in (risk, executor, keeper, alerter):
            ray.kill(h, no_restart=True)
