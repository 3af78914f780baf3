"""The rules behind re-sending an intent after a restart (actors.recovery): freshness in market
time, and the venue's one-order-per-cloid guarantee that makes a re-send safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.recovery import is_fresh
from actors.venues.base import OrderRejected, OrderRequest
from tests.crash.harness import bench, intent


@pytest.mark.parametrize(
    ("age_s", "speed", "window_ms", "fresh"),
    [(0.0, 1.0, 60_000, True), (60.0, 1.0, 60_000, True), (60.01, 1.0, 60_000, False),
     (1.0, 60.0, 60_000, True), (1.01, 60.0, 60_000, False), (0.5, 1.0, 0.0, False)],
)  # fmt: skip
def test_freshness_is_measured_in_market_time(
    age_s: float, speed: float, window_ms: float, fresh: bool
) -> None:
    assert is_fresh(1_000.0, 1_000.0 + age_s, speed, window_ms) is fresh


def test_the_venue_refuses_a_second_order_with_a_used_cloid(tmp_path: Path) -> None:
    with bench(tmp_path) as b:
        i = intent(b, "dup", kind="limit")
        req = OrderRequest(cloid=i.cloid, symbol="BTC", side="buy", size=0.01, kind="limit",
                           price=i.price)  # fmt: skip
        first = b.venue.place(req)
        assert first.status == "resting"
        with pytest.raises(OrderRejected, match="duplicate cloid"):
            b.venue.place(req.model_copy(update={"price": round(i.price * 1.01)}))
        found = b.venue.order_by_cloid("BTC", i.cloid)  # still the first order, unchanged
        assert found is not None and found.venue_order_id == first.venue_order_id
        assert found.price == pytest.approx(i.price) and found.status == "open"
        assert len(b.venue.open_orders()) == 1
