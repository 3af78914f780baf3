"""Entries of different symbols go to the venue side by side; entries of one symbol one after
the other (issue #15: several symbols signal on one close, and each entry waited for the whole
journal-and-place round trip of the one before)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.executor import Executor
from actors.keeper import StateKeeper
from actors.messages import OrderIntent, make_cloid
from actors.venues.paper import PaperExchange
from tests.conftest import MARKET
from tests.crash import inproc


def _entry(px: PaperExchange, symbol: str, tag: str) -> OrderIntent:
    """A limit buy 5 % under the mid: it rests (no fill, no protective orders)."""
    mid = float(px.simulator.venue.mark(symbol))
    sid = f"par:{symbol}:{tag}"
    return OrderIntent(source="risk", seq=1, intent_id=f"{sid}:entry", signal_id=sid,
                       cloid=make_cloid("par", symbol, sid, "entry"), symbol=symbol, side="buy",
                       size=0.01 if symbol == "BTC" else 0.2, kind="limit",
                       price=round(mid * 0.95, 1), purpose="entry",
                       stop=round(mid * 0.9, 1), target=round(mid * 1.05, 1))  # fmt: skip


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Executor]]:
    import ray

    monkeypatch.setattr(ray, "get", inproc._get)  # the actors run in this process
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path / "paper", symbols=["BTC", "ETH"],
                       speed=1.0, clock="manual") as px:  # fmt: skip
        keeper = inproc.LocalActor(StateKeeper(tmp_path / "data", snapshot_s=3600.0))
        ex = Executor(px.spec, keeper, None, poll_s=3600.0, reconcile_s=3600.0)
        try:
            yield px, ex
        finally:
            ex.stop()
            inproc._get(keeper.close.remote())


@pytest.mark.parametrize("symbols", [("BTC", "ETH"), ("BTC", "BTC")])
def test_entries_of_two_symbols_are_placed_at_once(setup: Any, symbols: tuple[str, str]) -> None:
    px, ex = setup
    ex.one_entry_per_symbol = False  # two entries of one symbol both reach the venue
    venue = ex.venue._venue
    real_place = venue.place
    started = [threading.Event(), threading.Event()]
    overlapped: dict[int, bool] = {}
    parallel = symbols[0] != symbols[1]
    entries = [_entry(px, s, f"e{k}") for k, s in enumerate(symbols)]
    slot = {e.cloid: k for k, e in enumerate(entries)}

    def place(order: Any) -> Any:
        k = slot[order.cloid]
        started[k].set()
        overlapped[k] = started[1 - k].wait(10.0 if parallel else 0.3)
        return real_place(order)

    venue.place = place
    threads = [threading.Thread(target=ex.submit, args=(e,)) for e in entries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(not t.is_alive() for t in threads)
    resting = {o.cloid for o in px_open_orders(ex)}
    assert {e.cloid for e in entries} <= resting  # both placed, both rest
    if parallel:
        assert overlapped == {0: True, 1: True}
    else:  # negative control: one symbol, one entry at a time (whichever went first waited)
        assert sorted(overlapped.values()) == [False, True]
    view = ex.portfolio()
    assert set(view.pending) == set(symbols) and not ex._sending


def px_open_orders(ex: Executor) -> list[Any]:
    return list(ex.venue.open_orders())
