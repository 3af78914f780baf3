"""Persisted state round-trips: a rebuilt venue answers every query exactly as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.venues.simulator import state, views
from actors.venues.simulator.engine import Venue
from tests.sim.helpers import T0, USER, order_spec, scripted_venue


def test_save_and_restore_round_trip(tmp_path: Path) -> None:
    v = scripted_venue()
    v.update_leverage(USER, 0, False, 7)
    v.place_orders(USER, [order_spec(px="100010", sz="0.02", tif="Ioc")], "na")
    v.place_orders(USER, [order_spec(px="99000", sz="0.01", cloid="0x" + "0" * 31 + "1")], "na")
    v.nonces.check_and_use(USER, 1_800_000_000_000, 1_800_000_000_000)
    state.save(v, tmp_path)
    w = Venue(None, ["BTC", "ETH"], T0)
    state.restore(w, state.load(tmp_path))
    for fn in (
        views.clearinghouse_state,
        views.frontend_open_orders,
        views.user_fills,
        views.historical_orders,
    ):
        assert fn(w, USER) == fn(v, USER)
    assert views.l2_book(w, "BTC") == views.l2_book(v, "BTC")
    assert w.nonces.check_and_use(USER, 1_800_000_000_000, 1_800_000_000_000) is not None
    assert w.next_oid == v.next_oid


def test_corrupt_or_mismatched_state_is_named(tmp_path: Path) -> None:
    (tmp_path / state.STATE_FILE).write_text("{broken")
    with pytest.raises(ValueError, match="corrupt"):
        state.load(tmp_path)
    v = scripted_venue()
    snap = state.snapshot(v)
    with pytest.raises(ValueError, match="saved state is for coins"):
        state.restore(Venue(None, ["BTC"], T0), snap)
