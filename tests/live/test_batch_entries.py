"""The entries of one bar close as one batch (``Executor.submit_many``, actors/entries.py) on the
simulator: one journal transaction and one venue request, each entry's money rules intact —
idempotent by cloid, a refused order alone refused, a lost reply looked up by cloid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.messages import OrderIntent
from tests.live.graph import Graph, order_graph
from tests.live.helpers import entry_intent

pytestmark = pytest.mark.usefixtures("ray_session")


def _count_venue_calls(ex: Any) -> None:
    """Inside the Executor: count its venue's place / place_many calls."""
    calls = ex._test_calls = {"place": 0, "place_many": 0}
    inner = ex.venue

    class Counting:
        def __getattr__(self, name: str) -> Any:
            attr = getattr(inner, name)
            if name not in calls:
                return attr

            def counted(*args: Any, **kw: Any) -> Any:
                calls[name] += 1
                return attr(*args, **kw)

            return counted

    ex.venue = Counting()


def _calls(g: Graph) -> dict[str, int]:
    import ray

    return dict(ray.get(g.executor.__ray_call__.remote(lambda ex: ex._test_calls)))


def _resting_limits(g: Graph, tags: list[str], sizes: list[float]) -> list[OrderIntent]:
    px = round(g.mid() * 0.8)  # far below the market: each rests
    return [entry_intent("BTC", "buy", z, g.mid(), t).model_copy(update={"kind": "limit",
            "price": px, "stop": round(px * 0.95), "target": None})
            for t, z in zip(tags, sizes, strict=True)]  # fmt: skip


def test_a_close_entries_are_journaled_and_placed_in_one_request(tmp_path: Path) -> None:
    import ray

    with order_graph(tmp_path, one_entry_per_symbol=False) as g:
        ray.get(g.executor.__ray_call__.remote(_count_venue_calls))
        batch = _resting_limits(g, ["a", "b", "c"], [0.001, 0.002, 0.003])
        state = ray.get(g.executor.submit_many.remote(batch))
        assert _calls(g) == {"place": 0, "place_many": 1}
        on_venue = {o.cloid: o.size for o in g.venue.open_orders()}
        assert on_venue == {i.cloid: pytest.approx(i.size) for i in batch}
        assert [ray.get(g.keeper.order_status.remote(i.cloid)) for i in batch] == ["resting"] * 3
        assert state.pending == frozenset({"BTC"})  # resting entries count as pending
        # delivered again (Ray at least once; a retry with a new seq): nothing is resent
        again = [i.model_copy(update={"seq": 7}) for i in batch]
        ray.get(g.executor.submit_many.remote(again))
        assert _calls(g) == {"place": 0, "place_many": 1}
        assert {o.cloid for o in g.venue.open_orders()} == set(on_venue)
        assert ray.get(g.alerter.count.remote("duplicate_intent")) == 3


def test_one_refused_order_does_not_refuse_the_others(tmp_path: Path) -> None:
    import ray

    with order_graph(tmp_path, one_entry_per_symbol=False) as g:
        ok1, zero, ok2 = _resting_limits(g, ["ok1", "zero", "ok2"], [0.001, 1e-12, 0.002])
        ray.get(g.executor.submit_many.remote([ok1, zero, ok2]))
        statuses = [ray.get(g.keeper.order_status.remote(i.cloid)) for i in (ok1, zero, ok2)]
        assert statuses == ["resting", "rejected", "resting"]
        assert {o.cloid for o in g.venue.open_orders()} == {ok1.cloid, ok2.cloid}
        assert ray.get(g.alerter.count.remote("order_rejected")) == 1


def test_a_lost_reply_ends_with_exactly_one_order_per_entry(tmp_path: Path) -> None:
    """The venue accepts the batch and the reply is lost: every entry is looked up by cloid,
    found resting, journaled as such; no entry is sent twice."""
    import ray

    with order_graph(tmp_path, spec_update={"timeout_s": 1.0}, one_entry_per_symbol=False) as g:
        ray.get(g.executor.__ray_call__.remote(_count_venue_calls))
        batch = _resting_limits(g, ["t1", "t2"], [0.001, 0.002])
        g.paper.simulator.faults.inject("timeout_after_accept", count=1, hang_seconds=3)
        ray.get(g.executor.submit_many.remote(batch))
        assert _calls(g) == {"place": 0, "place_many": 1}
        assert [ray.get(g.keeper.order_status.remote(i.cloid)) for i in batch] == ["resting"] * 2
        orders = [o for o in g.venue.open_orders() if o.cloid in {i.cloid for i in batch}]
        assert sorted(o.cloid for o in orders) == sorted(i.cloid for i in batch)  # one each
        assert ray.get(g.alerter.count.remote("order_rejected")) == 0


def _without_place_many(ex: Any) -> None:
    """Inside the Executor: its venue no longer takes a batch (as the CCXT venues)."""
    _count_venue_calls(ex)
    counting = ex.venue

    class Single:
        def __getattr__(self, name: str) -> Any:
            if name == "place_many":
                raise AttributeError(name)
            return getattr(counting, name)

    ex.venue = Single()


def test_a_venue_without_batches_gets_the_entries_one_by_one(tmp_path: Path) -> None:
    import ray

    with order_graph(tmp_path, one_entry_per_symbol=False) as g:
        ray.get(g.executor.__ray_call__.remote(_without_place_many))
        batch = _resting_limits(g, ["s1", "s2"], [0.001, 0.002])
        ray.get(g.executor.submit_many.remote(batch))
        assert _calls(g) == {"place": 2, "place_many": 0}
        assert [ray.get(g.keeper.order_status.remote(i.cloid)) for i in batch] == ["resting"] * 2
        assert {o.cloid for o in g.venue.open_orders()} == {i.cloid for i in batch}
