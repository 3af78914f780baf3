"""Risk and breaker settings: the defaults and every bound build the pure models; an
out-of-range value is one line naming the field and exit 2, nothing persisted is touched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actors.state.breakers import BreakerStore, events_log_path, read_states
from cluster.cli import app
from cluster.settings import ConfigError, load_settings

runner = CliRunner()


def test_defaults_build_the_models() -> None:
    s = load_settings()
    lim, th = s.risk_limits(), s.breaker_thresholds()
    assert lim.portfolio is not None and lim.portfolio.max_correlation == 0.8
    assert lim.max_drawdown_pct == 10.0 and th.drawdown_pct == 10.0
    assert (th.loss_streak, th.atr_multiple, th.exchange_failures) == (5, 3.0, 3)


@pytest.mark.parametrize(
    ("field", "value"),
    [("correlation_max", 0.01), ("correlation_max", 1.0), ("var_confidence", 0.51),
     ("var_confidence", 0.999), ("var_limit_pct", 100.0), ("var_horizon_bars", 1),
     ("breaker_drawdown_pct", 99.9), ("breaker_loss_streak", 1), ("breaker_loss_streak", 1000),
     ("breaker_atr_multiple", 1.01), ("breaker_atr_multiple", 100.0),
     ("breaker_exchange_failures", 1), ("breaker_exchange_window_s", 86_400.0),
     ("max_symbol_exposure_pct", 10_000.0), ("max_drawdown_pct", 0.01)],
)  # fmt: skip
def test_every_bound_builds_the_models(field: str, value: float) -> None:
    s = load_settings(**{field: value})
    s.risk_limits()
    s.breaker_thresholds()


def test_out_of_range_values_one_line_each_exit_2(
    monkeypatch: pytest.MonkeyPatch, _isolated_data_dir: Path
) -> None:
    BreakerStore(_isolated_data_dir).trip("volatility", "before")
    log_before = events_log_path(_isolated_data_dir).read_text()
    monkeypatch.setenv("BREAKER_LOSS_STREAK", "0")
    monkeypatch.setenv("BREAKER_ATR_MULTIPLE", "0.5")
    monkeypatch.setenv("CORRELATION_MAX", "1.5")
    monkeypatch.setenv("VAR_METHOD", "montecarlo")
    res = runner.invoke(app, ["breaker", "status", "--json"])
    assert res.exit_code == 2
    bad = [ln for ln in res.output.splitlines() if re.match(r"^\s+[A-Z_]+:", ln)]
    assert [ln.split(":")[0].strip() for ln in bad] == [
        "CORRELATION_MAX", "VAR_METHOD", "BREAKER_LOSS_STREAK", "BREAKER_ATR_MULTIPLE"]  # fmt: skip
    assert read_states(_isolated_data_dir)["volatility"].state == "tripped"
    assert events_log_path(_isolated_data_dir).read_text() == log_before


def test_windows_must_fit_the_feed_history() -> None:
    with pytest.raises(ConfigError, match="CORRELATION_WINDOW 500 bars of 1h need 2008"):
        load_settings(correlation_timeframe="1h")
    with pytest.raises(ConfigError, match="not a multiple"):
        load_settings(default_timeframe="1h", correlation_timeframe="15m")
    ok = load_settings(correlation_timeframe="1h", correlation_window=200)
    assert ok.correlation_timeframe == "1h"
