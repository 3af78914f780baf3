"""Signature recovery (documented test vectors) and per-signer nonce rules."""

from __future__ import annotations

import eth_account
from hyperliquid.utils.signing import (
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_l1_action,
)

from actors.venues.simulator import errors
from actors.venues.simulator.nonces import DAY_MS, KEEP, NonceBook
from actors.venues.simulator.signing import recover_signer

KEY = "0x" + "0123456789" * 6 + "0123"
ADDRESS = "0x14791697260E4c9A71f18484C9f997B308e59325"


def _vector_action() -> dict:
    wire = order_request_to_order_wire(
        {
            "coin": "ETH",
            "is_buy": True,
            "sz": 100,
            "limit_px": 100,
            "reduce_only": False,
            "order_type": {"limit": {"tif": "Gtc"}},
        },
        1,
    )
    return order_wires_to_order_action([wire])


def test_documented_vector_key_maps_to_documented_address() -> None:
    assert eth_account.Account.from_key(KEY).address == ADDRESS


def test_recovers_documented_testnet_signature() -> None:
    sig = {
        "r": "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
        "s": "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5",
        "v": 27,
    }
    assert recover_signer(_vector_action(), sig, None, 0, None) == ADDRESS.lower()


def test_wrong_network_flag_recovers_a_different_address() -> None:
    wallet = eth_account.Account.from_key(KEY)
    sig = sign_l1_action(wallet, _vector_action(), None, 0, None, True)  # signed as mainnet
    assert recover_signer(_vector_action(), sig, None, 0, None) != ADDRESS.lower()


def test_reordered_keys_recover_a_different_address() -> None:
    wallet = eth_account.Account.from_key(KEY)
    action = _vector_action()
    sig = sign_l1_action(wallet, action, None, 5, None, False)
    assert recover_signer(action, sig, None, 5, None) == ADDRESS.lower()
    reordered = {"grouping": action["grouping"], "type": "order", "orders": action["orders"]}
    assert recover_signer(reordered, sig, None, 5, None) != ADDRESS.lower()


def test_nonce_rules() -> None:
    now = 1_800_000_000_000
    book = NonceBook()
    assert book.check_and_use("0xa", now, now) is None
    assert book.check_and_use("0xa", now, now) == errors.DUPLICATE_NONCE.format(nonce=now)
    assert book.check_and_use("0xb", now, now) is None  # per signer
    assert book.check_and_use("0xa", now - 2 * DAY_MS - 1, now) is not None
    assert book.check_and_use("0xa", now + DAY_MS + 1, now) is not None
    for i in range(1, KEEP + 1):
        assert book.check_and_use("0xa", now + i, now) is None
    smallest = min(book.kept["0xa"])
    assert book.check_and_use("0xa", smallest - 1, now) is not None  # below the kept window
