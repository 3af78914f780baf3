"""Hyperliquid reply parsing on recorded replies (failure_modes F22): every per-order status is
read, "ok" with an error is a rejection, and anything unreadable is 'unknown', never rejected."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors.venues import hl_replies as rep
from actors.venues.base import OrderRejected, VenueError
from tests.conftest import HL_RECORDED

CLOID = "0x" + "ab" * 16


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    path = HL_RECORDED / "ccxt_static" / "hyperliquid_http_responses_excerpt.json"
    return json.loads(path.read_text())


def _order_reply(*statuses: Any) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": "order", "data": {"statuses": list(statuses)}}}


def test_recorded_ioc_fill(recorded: dict[str, Any]) -> None:
    r = rep.place_result(recorded["order_place__market_ioc_filled"]["response"], CLOID, 1.0)
    assert (r.status, r.filled_size, r.avg_price, r.venue_order_id) == (
        "filled", 1.0, 25.585, "296683658818",
    )  # fmt: skip


def test_partial_ioc_fill_is_partially_filled() -> None:
    reply = _order_reply({"filled": {"totalSz": "0.4", "avgPx": "100.5", "oid": 7}})
    assert rep.place_result(reply, CLOID, 1.0).status == "partially_filled"


@pytest.mark.parametrize(
    "text",
    [
        "Order must have minimum value of $10. asset=1",
        "Insufficient margin to place order. asset=15",
        "Reduce only order would increase position. asset=3",
        "Order could not immediately match against any resting orders. asset=0",
    ],
)
def test_ok_with_error_status_is_a_rejection_with_the_venue_text(text: str) -> None:
    with pytest.raises(OrderRejected) as err:
        rep.place_result(_order_reply({"error": text}), CLOID, 1.0)
    assert err.value.reason == text and err.value.cloid == CLOID


def test_every_recorded_per_order_error_string_is_a_rejection() -> None:
    data = json.loads((HL_RECORDED / "observed_error_strings.json").read_text())
    msgs = [e["msg"] for e in data["per_order_status_errors"]]
    assert len(msgs) >= 5
    for msg in msgs:
        with pytest.raises(OrderRejected):
            rep.place_result(_order_reply({"error": msg}), CLOID, 1.0)


def test_whole_request_errors() -> None:
    with pytest.raises(OrderRejected, match="duplicate nonce"):
        rep.place_result(
            {"status": "err", "response": "Invalid nonce: duplicate nonce 5"}, CLOID, 1.0
        )
    with pytest.raises(VenueError, match="does not exist") as err:
        rep.place_result(
            {"status": "err", "response": "User or API Wallet 0xabc does not exist."}, CLOID, 1.0
        )
    assert not isinstance(err.value, OrderRejected)


def test_bare_string_statuses() -> None:
    assert rep.place_result(_order_reply("waitingForTrigger"), CLOID, 1.0).status == (
        "triggered_pending"
    )


@pytest.mark.parametrize(
    "reply",
    [
        {"error": "Could not parse JSON: <html>"},  # the SDK's stand-in for a non-JSON body
        {"status": "ok"},
        {"status": "ok", "response": {"type": "order", "data": {"statuses": []}}},
        _order_reply({"resting": {"oid": 1}}, {"resting": {"oid": 2}}),  # two for one order
        _order_reply({"something": 1}),
        _order_reply("banana"),
        [],
        None,
    ],
)
def test_malformed_replies_are_malformed_never_rejected(reply: Any) -> None:
    with pytest.raises(rep.MalformedReply):
        rep.place_result(reply, CLOID, 1.0)


def test_cancel_results() -> None:
    ok = {"status": "ok", "response": {"type": "cancel", "data": {"statuses": ["success"]}}}
    assert rep.cancel_result(ok) is True
    missing = {
        "status": "ok",
        "response": {
            "type": "cancel",
            "data": {"statuses": [{"error": rep.MISSING_ORDER + " asset=0"}]},
        },
    }
    assert rep.cancel_result(missing) is False


def _cancel_reply(statuses: list[Any]) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}


def test_batch_place_results_one_per_order() -> None:
    """A batch of orders (the entries of one close): each status is its own order's answer —
    one rejection does not reject the others; a refusal of the whole request rejects each."""
    other = "0x" + "cd" * 16
    reply = _order_reply({"resting": {"oid": 5}}, {"error": "Insufficient margin to place order."},
                         {"filled": {"totalSz": "0.5", "avgPx": "10", "oid": 6}})  # fmt: skip
    out = rep.place_results(reply, [(CLOID, 1.0), (other, 1.0), (CLOID, 1.0)])
    assert isinstance(out[0], rep.PlaceResult) and out[0].status == "resting"
    assert isinstance(out[1], OrderRejected) and out[1].cloid == other
    assert isinstance(out[2], rep.PlaceResult) and out[2].status == "partially_filled"
    refused = rep.place_results({"status": "err", "response": "Invalid nonce"},
                                [(CLOID, 1.0), (other, 1.0)])  # fmt: skip
    assert [type(r) for r in refused] == [OrderRejected, OrderRejected]
    assert refused[1].cloid == other  # type: ignore[union-attr]
    with pytest.raises(rep.MalformedReply):  # which order would each status belong to?
        rep.place_results(_order_reply({"resting": {"oid": 5}}), [(CLOID, 1.0), (other, 1.0)])
    with pytest.raises(rep.MalformedReply):  # a malformed status is never a rejection
        rep.place_results(_order_reply({"resting": {"oid": 5}}, 17), [(CLOID, 1.0), (other, 1.0)])


def test_batch_cancel_results_one_per_order() -> None:
    gone = {"error": rep.MISSING_ORDER + " asset=1"}
    other = {"error": "Too many cumulative requests"}
    out = rep.cancel_results(_cancel_reply(["success", gone, other]), 3)
    assert out[:2] == [True, False]
    assert isinstance(out[2], rep.VenueError) and "Too many" in str(out[2])
    with pytest.raises(rep.MalformedReply):  # which cancel would each status belong to?
        rep.cancel_results(_cancel_reply(["success"]), 2)
    with pytest.raises(rep.MalformedReply):
        rep.cancel_results(_cancel_reply(["success", 17]), 2)
    with pytest.raises(rep.VenueError):  # the whole request refused
        rep.cancel_results(
            {"status": "err", "response": "User or API Wallet 0x0 does not exist."}, 1
        )


def test_recorded_order_status_and_open_orders(recorded: dict[str, Any]) -> None:
    filled = rep.order_status(recorded["orderStatus__filled_perp"])
    assert filled is not None
    assert (filled.status, filled.symbol, filled.side, filled.size, filled.remaining) == (
        "filled", "ETH", "buy", 0.2, 0.0,
    )  # fmt: skip
    assert rep.order_status({"status": "unknownOid"}) is None
    alo = rep.order_status(recorded["orderStatus__open_alo"])
    assert alo is not None and alo.status == "open" and alo.kind == "limit"
    (trig,) = rep.open_orders(recorded["frontendOpenOrders__trigger"])
    assert (trig.kind, trig.trigger_price, trig.status) == ("stop_loss", 0.6, "open")


def test_status_families_map_to_the_record() -> None:
    base = {"coin": "BTC", "side": "A", "limitPx": "1.0", "sz": "0.0", "oid": 1, "origSz": "1.0"}
    for raw, want in [
        ("marginCanceled", "canceled"),
        ("reduceOnlyCanceled", "canceled"),
        ("scheduledCancel", "canceled"),
        ("perpMarginRejected", "rejected"),
        ("minTradeNtlRejected", "rejected"),
        ("triggered", "triggered"),
    ]:
        assert rep.venue_order(base, raw).status == want
    with pytest.raises(rep.MalformedReply):
        rep.venue_order(base, "brandNewStatus")


def test_recorded_positions_and_fills(recorded: dict[str, Any]) -> None:
    eth, sol = rep.positions(recorded["clearinghouseState__cross_short"])
    assert (eth.symbol, eth.size, eth.liquidation_price) == ("ETH", 1.6, None)
    assert (sol.symbol, sol.size, sol.entry_price, sol.leverage) == ("SOL", -0.5, 138.76, 20.0)
    assert sol.liquidation_price == 22881.19788911
    assert rep.positions(recorded["clearinghouseState__flat"]) == []
    fills = rep.fills(recorded["userFills__samples"])
    assert len({f.trade_id for f in fills}) == len(fills) > 0
    assert fills[0].side == "buy" and fills[0].trade_id == "882779857052503"


def test_recorded_user_funding() -> None:
    """Hyperliquid's recorded ``userFunding`` reply: ``usdc`` is what the account received —
    a short receives a positive rate, a long pays it (checked on every row)."""
    import yaml

    cassette = HL_RECORDED / "sdk_cassettes" / "test_user_funding_history_without_end_time.yaml"
    raw = json.loads(yaml.safe_load(cassette.read_text())["interactions"][0]["response"]["body"]
                     ["string"])  # fmt: skip
    rows = rep.funding(raw)
    assert len(rows) == len(raw) > 10
    for r, f in zip(raw, rows, strict=True):
        assert (f.symbol, f.time_ms, f.amount) == (r["delta"]["coin"], r["time"],
                                                   float(r["delta"]["usdc"]))  # fmt: skip
        if f.rate and f.size and f.amount:
            assert (f.amount > 0) == (f.size * f.rate < 0), r


@pytest.mark.parametrize(
    "reply",
    [{"not": "a list"}, [{"time": 1, "delta": {"type": "funding", "coin": "BTC", "usdc": "x"}}],
     [{"time": "1", "delta": {"type": "funding", "coin": "BTC", "usdc": "1"}}], [{"time": 1}]],
)  # fmt: skip
def test_malformed_user_funding_is_malformed(reply: Any) -> None:
    with pytest.raises(rep.MalformedReply):
        rep.funding(reply)
