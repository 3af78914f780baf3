"""The dashboard page's logic with Streamlit's AppTest (no browser): the token gate, a missing
or corrupt store, and the numbers shown equal the store's."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from actors.state import journal_path
from cluster.cli_dashboard import APP
from tests.dashboard.stores import known_journal

TOKEN = "correct-horse-battery-staple"


def _app(monkeypatch: pytest.MonkeyPatch, token: str | None = TOKEN) -> AppTest:
    if token is None:
        monkeypatch.delenv("DASHBOARD_TOKEN", raising=False)
    else:
        monkeypatch.setenv("DASHBOARD_TOKEN", token)
    return AppTest.from_file(str(APP), default_timeout=60).run()


def _texts(at: AppTest) -> str:
    parts = [m.label + " " + str(m.value) for m in at.metric]
    for kind in (at.markdown, at.error, at.warning, at.info, at.caption):
        parts += [str(e.value) for e in kind]
    return "\n".join(parts)


def _login(at: AppTest, token: str) -> AppTest:
    return at.text_input(key="token_input").input(token).run()


def test_gate_shows_no_data_until_the_token_is_given(
    _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known_journal(_isolated_data_dir)
    at = _app(monkeypatch)
    assert not at.exception
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.tabs) == 0
    assert "access token" in _texts(at)
    at = _login(at, "wrong-token-wrong-token")
    assert [e.value for e in at.error] == ["Wrong token."]
    assert len(at.metric) == 0 and len(at.tabs) == 0
    assert "wrong-token-wrong-token" not in _texts(at)  # never echoed
    at = _login(at, TOKEN)
    assert not at.exception and not at.error
    assert len(at.metric) > 0 and len(at.tabs) == 4
    assert TOKEN not in _texts(at)


def test_numbers_shown_equal_the_store(
    _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.dashboard.stores import heartbeat

    want = known_journal(_isolated_data_dir)
    heartbeat(_isolated_data_dir)
    at = _login(_app(monkeypatch), TOKEN)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Realised P&L"] == f"-${abs(want['realized']):,.2f}"
    assert shown["Orders / fills"] == f"{want['orders']:.0f} / {want['fills']:.0f}"
    assert shown["Equity"] == "$1,050.00" and shown["Win rate"] == "50.0%"
    frames = [df.value for df in at.dataframe]
    signals = next(f for f in frames if "outcome" in f.columns)
    assert len(signals) == want["signals"] and "blocked: breaker:kill" in set(signals["outcome"])
    seed = next(f for f in frames if "metric" in f.columns and "result" in f.columns)
    assert set(seed["result"]) <= {"PASS", "FAIL", "unknown"} and len(seed) == 4
    actors = next(f for f in frames if "actor" in f.columns)
    assert set(actors["state"]) == {"alive"} and "StrategyRunner BTC" in set(actors["actor"])
    feeds = next(f for f in frames if "websocket" in f.columns)
    assert list(feeds["websocket"]) == ["connected"]
    assert any("running on paper" in str(e.value) for e in at.success)


def test_missing_store_is_a_clear_message(
    _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _login(_app(monkeypatch), TOKEN)
    assert not at.exception and not at.error
    assert any("nothing has run yet" in w.value for w in at.warning)
    assert len(at.metric) == 0


def test_corrupt_store_is_a_clear_message_not_a_traceback(
    _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = journal_path(_isolated_data_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    at = _login(_app(monkeypatch), TOKEN)
    assert not at.exception
    assert any("cannot be read" in e.value and str(path) in e.value for e in at.error)


def test_without_a_token_the_page_stays_closed(
    _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known_journal(_isolated_data_dir)
    at = _app(monkeypatch, token=None)
    assert not at.exception and len(at.text_input) == 0 and len(at.metric) == 0
    assert any("DASHBOARD_TOKEN is not set" in e.value for e in at.error)


def test_sweep_results_are_shown_and_a_damaged_table_is_a_message(
    _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    root = _isolated_data_dir / "sweeps" / "ob_retest-abc"
    (root / "parts").mkdir(parents=True)
    rows = pd.DataFrame({"variant_id": ["v1", "v2", "v3"], "sharpe": [0.4, 1.7, -0.2],
                         "total_return": [0.05, 0.21, -0.07], "max_drawdown": [0.1, 0.08, 0.2],
                         "trades": [10, 12, 9]})  # fmt: skip
    rows.to_parquet(root / "results.parquet", index=False)
    parts = rows.assign(period_returns=[[0.01, 0.0], [0.1, -0.05, 0.1], [-0.07]])
    parts.to_parquet(root / "parts" / "part-1.parquet", index=False)
    at = _login(_app(monkeypatch), TOKEN)
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Best: Sharpe"] == "1.70" and shown["Best: Total return"] == "21.00%"
    assert shown["Best: Trades"] == "12"
    charts = {c.proto.spec for c in at.get("plotly_chart")}
    assert any('"y":[1.0,1.1,1.045,1.1495' in s.replace(" ", "") for s in charts)
    (root / "results.parquet").write_bytes(b"PAR1 damaged")
    at = _login(_app(monkeypatch), TOKEN)
    assert not at.exception
    assert any("unreadable results table" in w.value for w in at.warning)


def test_saved_backtests_are_shown_as_stored(
    _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A run `fractal backtest` saved appears in the Backtests tab with the stored figures; a
    damaged run is a warning naming it while the good one still shows."""
    import gzip
    import json

    from typer.testing import CliRunner

    from cluster.cli import app
    from research.backtest.store import load_run
    from tests.conftest import MARKET

    src = MARKET / "hyperliquid_perp_2025" / "hyperliquid_ETHUSDC_1h.csv.gz"
    data = tmp_path / "hyperliquid_ETHUSDC_1h.csv"
    with gzip.open(src, "rt") as fh:
        data.write_text("".join(next(fh) for _ in range(2000)))
    cli = CliRunner()
    runs = []
    for _ in range(2):
        res = cli.invoke(
            app, ["backtest", "--strategy", "sma_cross", "--data", str(data), "--json"]
        )
        assert res.exit_code == 0, res.output
        runs.append(Path(json.loads(res.stdout)["run_dir"]))
    good, bad = sorted(runs, reverse=True)  # the newest is selected first
    stored = load_run(good)
    (bad / "run.json").write_text("garbage")
    at = _login(_app(monkeypatch), TOKEN)
    assert not at.exception
    assert any(bad.name in w.value and "unreadable" in w.value for w in at.warning)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Run: Total return"] == f"{100 * stored.info['total_return']:.2f}%"
    assert shown["Run: Trade count"] == f"{int(stored.info['trade_count']):,d}"
    frames = [df.value for df in at.dataframe]
    trades = next(f for f in frames if "exit_reason" in f.columns)
    assert len(trades) == len(stored.trades) and list(trades["pnl"]) == list(stored.trades["pnl"])
    table = next(f for f in frames if "run_id" in f.columns)
    assert list(table["run_id"]) == [good.name]
