"""The simulator persists every order after every action: its cheap ``to_dict`` must equal
``dataclasses.asdict`` (and not share the children list with the live order)."""

from __future__ import annotations

from dataclasses import asdict

from actors.venues.simulator.orders import Order


def test_to_dict_equals_asdict_and_copies_children() -> None:
    o = Order(oid=7, user="0xabc", coin="BTC", asset=0, is_buy=True, limit_px=100.5,
              orig_sz=2.0, sz=1.5, tif="Gtc", reduce_only=False, cloid="0x" + "1" * 32,
              timestamp=123, trigger_px=99.0, tpsl="sl", parent=3, children=[8, 9])  # fmt: skip
    d = o.to_dict()
    assert d == asdict(o)
    assert Order.from_dict(d) == o
    d["children"].append(10)
    assert o.children == [8, 9]
