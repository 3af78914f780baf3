"""VenueSpec: explicit network (never mainnet by default), exact URLs, no secret in repr/logs."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL
from pydantic import SecretStr, ValidationError

from actors.venues.base import VenueError
from actors.venues.factory import VenueSpec, make_venue
from actors.venues.paper import PaperExchange
from tests.conftest import MARKET

KEY = "0x" + "0123456789abcdef" * 4
SECRET = SecretStr(KEY)
ADDR = "0x14791697260E4c9A71f18484C9f997B308e59325"


def test_testnet_spec_uses_the_sdk_constant_and_hides_the_key(tmp_path: Path) -> None:
    spec = VenueSpec.hyperliquid(
        network="testnet", account_address=ADDR, secret_key=KEY, nonce_path=tmp_path / "n"
    )
    assert spec.base_url == TESTNET_API_URL
    assert spec.account_address == ADDR.lower()
    for text in (repr(spec), str(spec), spec.model_dump_json()):
        assert KEY not in text and KEY[2:] not in text
    back = pickle.loads(pickle.dumps(spec))
    assert back == spec and back.secret_key.get_secret_value() == KEY


def test_network_is_never_defaulted() -> None:
    with pytest.raises(ValidationError, match="network"):
        VenueSpec(  # type: ignore[call-arg]
            kind="hyperliquid", base_url=MAINNET_API_URL, account_address=ADDR, secret_key=SECRET
        )
    with pytest.raises(TypeError):
        VenueSpec.hyperliquid(account_address=ADDR, secret_key=KEY, nonce_path=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("network", "url"),
    [
        ("mainnet", MAINNET_API_URL + "/"),  # a trailing slash signs as testnet
        ("mainnet", TESTNET_API_URL),
        ("testnet", MAINNET_API_URL),
        ("paper", "http://10.0.0.5:8000"),  # paper is loopback only
        ("paper", "http://127.0.0.1:8000/"),
    ],
)
def test_base_url_must_match_the_network(network: str, url: str) -> None:
    kind = "paper" if network == "paper" else "hyperliquid"
    with pytest.raises(ValidationError, match="base_url"):
        VenueSpec(
            kind=kind,  # type: ignore[arg-type]
            network=network,  # type: ignore[arg-type]
            base_url=url,
            account_address=ADDR,
            secret_key=SECRET,
        )


def test_kind_and_network_must_agree() -> None:
    with pytest.raises(ValidationError, match="does not match"):
        VenueSpec(
            kind="paper", network="testnet", base_url=TESTNET_API_URL,
            account_address=ADDR, secret_key=SECRET,
        )  # fmt: skip


def test_bad_key_error_does_not_echo_it() -> None:
    bad = "0x" + "zz" * 32
    with pytest.raises(ValidationError) as err:
        VenueSpec.hyperliquid(network="testnet", account_address=ADDR, secret_key=bad,
                              nonce_path=None)  # fmt: skip
    assert bad not in str(err.value) and "zz" * 32 not in str(err.value)


def test_unfunded_account_refuses_to_start(tmp_path: Path) -> None:
    """F21: a main address without margin on this network (wrong network/address) -> no start."""
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px:
        wrong = px.spec.model_copy(update={"account_address": "0x" + "11" * 20})
        with pytest.raises(VenueError, match="no margin on paper"):
            make_venue(wrong)
        make_venue(px.spec).close()  # the funded one starts


def test_the_secret_never_reaches_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px:
        venue = make_venue(px.spec)
        venue.equity()
        secret = px.spec.secret_key.get_secret_value()
        assert secret[2:] not in repr(venue) and secret[2:] not in repr(px)
        venue.close()
    assert caplog.records, "the venue logs its start (network, account)"
    assert all(secret[2:] not in r.getMessage() for r in caplog.records)
    key_file = tmp_path / "paper_account.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_agent_wallet_signs_for_the_main_account(tmp_path: Path) -> None:
    """§7: an approved agent signs, every read uses the main address; the agent's own address
    as the account (the classic mistake) refuses to start."""
    import eth_account
    from hyperliquid.exchange import Exchange

    from actors.messages import make_cloid
    from actors.venues.base import OrderRequest

    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px:
        main = eth_account.Account.from_key(px.spec.secret_key.get_secret_value())
        reply, agent_key = Exchange(main, px.spec.base_url).approve_agent()
        assert reply["status"] == "ok"
        agent = eth_account.Account.from_key(agent_key).address.lower()
        spec = px.spec.model_copy(
            update={"secret_key": SecretStr(agent_key), "nonce_path": tmp_path / "agent.json"}
        )
        venue = make_venue(spec)
        c = make_cloid("agent", "BTC", "1", "entry")
        venue.place(
            OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="limit", price=50e3)
        )
        assert [o.cloid for o in venue.open_orders()] == [c]
        assert [o.user for o in px.simulator.venue.open_orders_of(None)] == [spec.account_address]
        venue.close()
        with pytest.raises(VenueError, match="no margin"):
            make_venue(spec.model_copy(update={"account_address": agent}))
