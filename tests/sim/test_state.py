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


def _views(v: Venue) -> list[object]:
    return [fn(v, USER) for fn in (views.clearinghouse_state, views.frontend_open_orders,
                                   views.user_fills, views.historical_orders)]  # fmt: skip


def test_journal_without_a_final_snapshot_restores_every_action(tmp_path: Path) -> None:
    """What a SIGKILL leaves: the start-up snapshot plus one journal line per action; loading
    them gives the venue as it was after the last action (fills, statuses, nonces, oids)."""
    v = scripted_venue()
    store = state.StateStore(tmp_path)
    store.checkpoint(v)
    v.update_leverage(USER, 0, False, 7)
    store.append(v)
    cloid = "0x" + "0" * 31 + "1"
    v.place_orders(USER, [order_spec(px="99000", sz="0.01", cloid=cloid)], "na")
    store.append(v)
    v.place_orders(USER, [order_spec(px="100010", sz="0.02", tif="Ioc")], "na")  # a fill
    v.nonces.check_and_use(USER, 1_800_000_000_000, 1_800_000_000_000)
    store.append(v)
    v.cancel_by_cloid(USER, 0, cloid)  # an older order changes status
    store.append(v)
    assert (tmp_path / state.JOURNAL_FILE).stat().st_size > 0
    w = Venue(None, ["BTC", "ETH"], T0)
    state.restore(w, state.load(tmp_path))
    assert _views(w) == _views(v)
    assert views.l2_book(w, "BTC") == views.l2_book(v, "BTC")
    assert w.nonces.check_and_use(USER, 1_800_000_000_000, 1_800_000_000_000) is not None
    assert (w.next_oid, w.next_tid) == (v.next_oid, v.next_tid)


def test_torn_last_line_and_stale_generation_are_not_replayed(tmp_path: Path) -> None:
    v = scripted_venue()
    store = state.StateStore(tmp_path)
    store.checkpoint(v)
    v.place_orders(USER, [order_spec(px="99000", sz="0.01")], "na")
    store.append(v)
    kept = _views(v)
    v.place_orders(USER, [order_spec(px="98000", sz="0.01")], "na")
    store.append(v)
    journal = tmp_path / state.JOURNAL_FILE
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 7])  # killed mid-append: never answered
    w = Venue(None, ["BTC", "ETH"], T0)
    state.restore(w, state.load(tmp_path))
    assert _views(w) == kept
    # a crash after a new snapshot's rename and before the truncation: old lines are skipped
    journal.write_bytes(data)
    state._write_snapshot(scripted_venue(), tmp_path, "a-newer-generation")
    fresh = Venue(None, ["BTC", "ETH"], T0)
    state.restore(fresh, state.load(tmp_path))
    assert views.frontend_open_orders(fresh, USER) == []


def test_the_journal_is_compacted_into_a_snapshot(tmp_path: Path) -> None:
    v = scripted_venue()
    store = state.StateStore(tmp_path, compact_bytes=4_000)
    store.checkpoint(v)
    for i in range(40):
        v.place_orders(USER, [order_spec(px=str(90_000 + i), sz="0.01")], "na")
        store.append(v)
    assert (tmp_path / state.JOURNAL_FILE).stat().st_size <= 4_000 + 2_000
    w = Venue(None, ["BTC", "ETH"], T0)
    state.restore(w, state.load(tmp_path))
    assert _views(w) == _views(v)
