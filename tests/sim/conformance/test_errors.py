"""Every recorded venue error, produced through the unmodified SDK (HTTP 200 + statuses[i].error
for per-order errors, {"status":"err"} for whole requests, 422/429 as ClientError)."""

from __future__ import annotations

import json

import eth_account
import pytest
import requests
from hyperliquid.utils.error import ClientError
from hyperliquid.utils.signing import (
    get_timestamp_ms,
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_l1_action,
)

from actors.venues.simulator import errors
from tests.conftest import HL_RECORDED
from tests.sim.conformance.conftest import VenueUnderTest, ok_statuses, wait_nonce_tick

GTC = {"limit": {"tif": "Gtc"}}
IOC = {"limit": {"tif": "Ioc"}}
ALO = {"limit": {"tif": "Alo"}}
NOT_REPRODUCED = {  # spot markets are not simulated
    "Insufficient spot balance asset=10000",
    "Placing trigger orders is not enabled on spot trading yet.",
    "Order price too far from oracle",
    "Order would cause position to exceed margin tier limit at current leverage",
}

# recorded message prefix -> (coin, is_buy, sz, px, order_type, reduce_only)
PER_ORDER = {
    "Order must have minimum value of $10.": ("BTC", True, 0.00005, 100_000, GTC, False),
    "Insufficient margin to place order. asset=15": ("BTC", True, 3.0, 99_000, GTC, False),
    "Order has invalid price.": ("BTC", True, 0.01, 99_000.55, GTC, False),
    "Price must be divisible by tick size.": ("ETH", True, 0.1, 2999.12, GTC, False),
    "Order price cannot be more than 80% away from the reference price": (
        "BTC",
        True,
        0.01,
        190_000,
        GTC,
        False,
    ),
    "Order has zero size.": ("BTC", True, 0.0, 100_000, GTC, False),
    "Order value too large. Max is $5000000.": ("BTC", True, 51.0, 100_000, GTC, False),
    "Reduce only order would increase position.": ("BTC", False, 0.01, 99_000, IOC, True),
    "Post only order would have immediately matched, bbo was {bbo}.": (
        "BTC",
        True,
        0.01,
        100_010,
        ALO,
        False,
    ),
    "Order could not immediately match against any resting orders.": (
        "BTC",
        True,
        0.01,
        99_000,
        IOC,
        False,
    ),
    "Invalid TP/SL price. asset=0": (
        "BTC",
        True,
        0.01,
        100_000,
        {"trigger": {"triggerPx": 99_000, "isMarket": True, "tpsl": "sl"}},
        False,
    ),
}


def _recorded() -> dict:
    return json.loads((HL_RECORDED / "observed_error_strings.json").read_text())


def test_every_recorded_per_order_error_is_covered() -> None:
    covered = (
        set(PER_ORDER)
        | NOT_REPRODUCED
        | {
            "No liquidity available for market order.",
            "Order was never placed, already canceled, or filled. asset=173",
        }
    )
    for entry in _recorded()["per_order_status_errors"]:
        assert entry["msg"] in covered, entry["msg"]


@pytest.mark.parametrize("recorded", sorted(PER_ORDER))
def test_per_order_error(venue: VenueUnderTest, recorded: str) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])
    sim.set_book("ETH", bids=[(3000, 50.0)], asks=[(3001, 50.0)])
    ex = venue.exchange(venue.new_wallet(10_000.0))
    coin, is_buy, sz, px, otype, ro = PER_ORDER[recorded]
    reply = ex.order(coin, is_buy, sz, px, otype, reduce_only=ro)
    (st,) = ok_statuses(reply)  # HTTP 200 and status "ok" even though the order failed
    prefix = recorded.split(" asset=")[0].split("{bbo}")[0]
    assert st["error"].startswith(prefix), st
    assert st["error"].endswith(f"asset={venue.info().name_to_asset(coin)}")


def test_no_liquidity_for_market_order(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[])
    (st,) = ok_statuses(venue.exchange(venue.new_wallet()).order("BTC", True, 0.01, 100_500, IOC))
    assert st["error"] == "No liquidity available for market order. asset=0"
    sim.set_book("BTC", bids=[(100_000, 5.0)], asks=[(100_010, 5.0)])


def test_unknown_signer_does_not_exist(venue: VenueUnderTest) -> None:
    stranger = eth_account.Account.create()
    reply = venue.exchange(stranger).order("ETH", True, 0.01, 2000, GTC)
    assert reply == {
        "status": "err",
        "response": f"User or API Wallet {stranger.address.lower()} does not exist.",
    }


def test_approved_agent_trades_for_master(venue: VenueUnderTest) -> None:
    master = venue.new_wallet()
    reply, agent_key = venue.exchange(master).approve_agent()
    assert reply == {"status": "ok", "response": {"type": "default"}}
    agent = eth_account.Account.from_key(agent_key)
    (st,) = ok_statuses(venue.exchange(agent).order("ETH", True, 0.01, 2000, GTC))
    oid = st["resting"]["oid"]
    info = venue.info()
    assert [o["oid"] for o in info.open_orders(master.address)] == [oid]
    assert info.open_orders(agent.address) == []  # reads must use the master address


def test_vault_not_registered(venue: VenueUnderTest) -> None:
    from hyperliquid.exchange import Exchange

    w = venue.new_wallet()
    vault = eth_account.Account.create().address
    ex = Exchange(
        w, venue.base_url, meta=venue.meta(), spot_meta=venue.spot_meta(), vault_address=vault
    )
    reply = ex.order("ETH", True, 0.01, 2000, GTC)
    assert reply == {"status": "err", "response": f"Vault not registered: {vault.lower()}"}


def test_duplicate_nonce(venue: VenueUnderTest) -> None:
    w = venue.new_wallet()
    ex = venue.exchange(w)
    wire = order_request_to_order_wire(
        {
            "coin": "ETH",
            "is_buy": True,
            "sz": 0.01,
            "limit_px": 2000,
            "order_type": GTC,
            "reduce_only": False,
        },
        venue.info().name_to_asset("ETH"),
    )
    action = order_wires_to_order_action([wire])
    n = get_timestamp_ms()
    sig = sign_l1_action(w, action, None, n, None, False)
    assert ok_statuses(ex._post_action(action, sig, n))
    again = ex._post_action(action, sig, n)
    assert again == {"status": "err", "response": f"Invalid nonce: duplicate nonce {n}"}


def test_malformed_body_is_422_text(venue: VenueUnderTest) -> None:
    r = requests.post(venue.base_url + "/exchange", data="{not json", timeout=5)
    assert (r.status_code, r.text) == (422, errors.DESERIALIZE)
    r = requests.post(venue.base_url + "/info", json={"type": "noSuchType"}, timeout=5)
    assert (r.status_code, r.text) == (422, errors.DESERIALIZE)
    with pytest.raises(ClientError) as exc:
        venue.info().post("/info", {"type": "noSuchType"})
    assert exc.value.status_code == 422


def test_rate_limit_429_with_weight_accounting(venue: VenueUnderTest) -> None:
    sim = venue.controls()
    info = venue.info()
    sim.faults.inject("rate_limit", weight_per_min=10)
    try:
        for _ in range(5):
            info.all_mids()  # weight 2 each: exactly the budget
        with pytest.raises(ClientError) as exc:
            info.all_mids()
        assert exc.value.status_code == 429
        if venue.sim is not None:  # one text for /info and /exchange (the venue's is unrecorded)
            assert exc.value.error_message == errors.RATE_LIMITED
            with pytest.raises(ClientError) as exc:
                venue.exchange(venue.new_wallet()).order("ETH", True, 0.01, 2000, GTC)
            assert (exc.value.status_code, exc.value.error_message) == (429, errors.RATE_LIMITED)
    finally:
        sim.faults.rate_limit_per_min = None


def test_cancel_unknown_order(venue: VenueUnderTest) -> None:
    ex = venue.exchange(venue.new_wallet())
    wait_nonce_tick()
    (st,) = ok_statuses(ex.cancel("ETH", 42))
    assert st == {"error": "Order was never placed, already canceled, or filled. asset=1"}


def test_expired_action_is_refused(venue: VenueUnderTest) -> None:
    ex = venue.exchange(venue.new_wallet())
    ex.set_expires_after(get_timestamp_ms() - 1_000)
    reply = ex.order("ETH", True, 0.01, 2000, GTC)
    assert reply["status"] == "err"
    ex.set_expires_after(get_timestamp_ms() + 60_000)
    wait_nonce_tick()
    assert "resting" in ok_statuses(ex.order("ETH", True, 0.01, 2000, GTC))[0]
