"""PaperExchange: a documented replay start inside the shipped data, a funded demo account that
survives a restart, and a simulator that is really gone after exit."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from actors.messages import make_cloid
from actors.venues.base import OrderRequest
from actors.venues.factory import make_venue
from actors.venues.paper import DEFAULT_PAPER_START_MS, KEY_FILE, PaperExchange
from actors.venues.simulator.market import INTERVAL_MS
from actors.venues.simulator.market_data import available_coins, load_coin
from tests.conftest import MARKET

DAY = 86_400_000


def test_default_start_leaves_history_before_and_room_after_for_every_coin() -> None:
    coins = available_coins(MARKET)
    assert len(coins) == 12
    for coin in coins:
        bars = load_coin(MARKET, coin).bars["15m"]
        before = int((bars.t < DEFAULT_PAPER_START_MS).sum())
        after_ms = int(bars.t[-1]) + INTERVAL_MS["15m"] - DEFAULT_PAPER_START_MS
        assert before >= 5_000, f"{coin}: only {before} 15m bars of warm-up history"
        assert after_ms >= 20 * DAY, f"{coin}: only {after_ms / DAY:.1f} days to replay"


def test_restart_resumes_the_same_account_and_the_simulator_stops(tmp_path: Path) -> None:
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px:
        assert px.now_ms() >= DEFAULT_PAPER_START_MS
        first = px.spec
        venue = make_venue(first)
        c = make_cloid("paper", "BTC", "1", "entry")
        venue.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.002, kind="market"))
        venue.close()
        url = urlparse(first.base_url)
    with pytest.raises(OSError):  # nothing listens any more
        socket.create_connection((url.hostname, url.port), timeout=2).close()
    with pytest.raises(RuntimeError, match="not running"):
        px.now_ms()
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px2:
        assert px2.spec.account_address == first.account_address
        assert px2.spec.secret_key == first.secret_key
        venue = make_venue(px2.spec)
        (pos,) = venue.positions()
        assert pos.size == pytest.approx(0.002)
        found = venue.order_by_cloid("BTC", c)
        assert found is not None and found.status == "filled"
        venue.close()


def test_a_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0):
        pass
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0).__enter__()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"speed": 0.0}, "speed"), ({"equity": -1.0}, "equity"), ({"symbols": []}, "symbol")],
)
def test_bad_paper_settings_name_the_problem(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "market_dir": MARKET, "state_dir": tmp_path, "symbols": ["BTC"], "speed": 1.0,
    }  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        PaperExchange(**args)  # type: ignore[arg-type]


def test_the_paper_venue_ignores_proxy_settings_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a proxy nobody serves: a 127.0.0.1 request routed through it would fail
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed on exit: nothing listens there
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{dead}")
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    import requests

    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px:
        with pytest.raises(requests.exceptions.ProxyError):  # the control: requests' default
            requests.post(f"{px.spec.base_url}/info", json={"type": "meta"}, timeout=5)
        venue = make_venue(px.spec)  # reads the account at start
        c = make_cloid("paper", "BTC", "proxy", "entry")
        venue.place(OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.002, kind="market"))
        assert venue.positions()[0].size == pytest.approx(0.002)
        venue.close()
