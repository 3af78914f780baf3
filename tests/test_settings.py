"""Configuration: defaults are safe, bad values give one clear message per field."""

from __future__ import annotations

import pytest

from cluster.settings import ConfigError, Network, load_settings

KEY = "0x" + "ab" * 32


def test_defaults_are_paper_and_safe() -> None:
    s = load_settings()
    assert s.network is Network.PAPER
    assert s.private_key is None
    assert s.default_timeframe == "15m"


def test_env_vars_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETWORK", "testnet")
    monkeypatch.setenv("DEFAULT_SYMBOL", "ETH")
    monkeypatch.setenv("MAX_OPEN_POSITIONS", "5")
    s = load_settings()
    assert (s.network, s.default_symbol, s.max_open_positions) == (Network.TESTNET, "ETH", 5)


def test_dotenv_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DEFAULT_TIMEFRAME=1h\nBASE_RISK_PERCENT=0.5\n")
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.default_timeframe == "1h"
    assert float(s.base_risk_percent) == 0.5


def test_each_invalid_field_is_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETWORK", "moon")
    monkeypatch.setenv("BASE_RISK_PERCENT", "-1")
    monkeypatch.setenv("DEFAULT_TIMEFRAME", "7m")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    msg = str(exc.value)
    for field in ("NETWORK", "BASE_RISK_PERCENT", "DEFAULT_TIMEFRAME"):
        assert msg.count(field + ":") == 1, msg


def test_private_key_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVATE_KEY", KEY)
    s = load_settings()
    assert s.private_key is not None
    assert s.private_key.get_secret_value() == KEY
    for text in (str(s), repr(s), s.model_dump_json()):
        assert KEY not in text and KEY[2:] not in text


def test_malformed_private_key_is_rejected_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "0xdeadbeef-not-a-key"
    monkeypatch.setenv("PRIVATE_KEY", bad)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "PRIVATE_KEY" in str(exc.value)
    assert bad not in str(exc.value)
