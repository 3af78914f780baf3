"""The message contract the live actors share: dedup keys, deterministic ids, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from actors.messages import Bar, OrderIntent, make_cloid, make_signal_id


def test_cloid_is_deterministic_and_venue_shaped() -> None:
    a = make_cloid("bos_orderblock", "BTC", "sig-1", "entry")
    assert a == make_cloid("bos_orderblock", "BTC", "sig-1", "entry")
    assert a != make_cloid("bos_orderblock", "BTC", "sig-1", "entry", attempt=1)
    assert a != make_cloid("bos_orderblock", "ETH", "sig-1", "entry")
    assert a.startswith("0x") and len(a) == 34 and int(a, 16) >= 0


def test_signal_id_names_the_bar() -> None:
    assert make_signal_id("s", "BTC", "15m", 123) != make_signal_id("s", "BTC", "15m", 124)


def test_messages_are_validated_and_frozen() -> None:
    bar = Bar(source="feed", seq=3, venue="paper", symbol="BTC", timeframe="15m", time_ms=0,
              open=1.0, high=2.0, low=0.5, close=1.5, volume=0.0)  # fmt: skip
    assert bar.key == ("feed", 3)
    with pytest.raises(ValidationError):
        bar.seq = 4  # type: ignore[misc]
    with pytest.raises(ValidationError, match="cloid"):
        OrderIntent(source="x", seq=0, intent_id="i", cloid="nope", signal_id=None, symbol="BTC",
                    side="buy", size=1.0, kind="market", purpose="entry")  # fmt: skip
    with pytest.raises(ValidationError, match="size"):
        OrderIntent(source="x", seq=0, intent_id="i", cloid=make_cloid("a", "b", "c", "d"),
                    signal_id=None, symbol="BTC", side="buy", size=0.0, kind="market",
                    purpose="entry")  # fmt: skip
