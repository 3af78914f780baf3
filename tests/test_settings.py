"""Configuration: defaults are safe, bad values give one clear message per field."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cluster.cli import app
from cluster.settings import ConfigError, Network, load_settings
from tests.conftest import PROJECT_ROOT

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


def test_network_accepts_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in (("Paper", Network.PAPER), (" TESTNET ", Network.TESTNET)):
        monkeypatch.setenv("NETWORK", raw)
        assert load_settings().network is expected


def test_a_misspelled_dotenv_key_is_warned_about(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "NETWRK=mainnet\nDEFAULT_SYMBL=ETH\nMAX_OPEN=4\nHL_TESTNET_PRIVATE_KEY=x\nNETWORK=paper\n"
    )
    monkeypatch.chdir(tmp_path)
    from cluster.settings import env_file_warnings

    warnings = env_file_warnings()
    assert len(warnings) == 3, warnings
    assert "unknown key NETWRK ignored (did you mean NETWORK?)" in warnings[0]
    assert "did you mean DEFAULT_SYMBOL?" in warnings[1]
    assert "unknown key MAX_OPEN ignored" in warnings[2]  # same first word as MAX_OPEN_POSITIONS
    # the command line shows them (stderr) and still runs on the valid settings
    res = CliRunner().invoke(app, ["data", "list"])
    assert res.exit_code == 0, res.output
    assert "NETWRK" in res.stderr and "did you mean NETWORK?" in res.stderr


def test_default_data_dir_is_the_project_root_not_the_cwd(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FRACTAL_DATA_DIR")
    monkeypatch.chdir(PROJECT_ROOT / "research")  # `cd research && ../.venv/bin/fractal run`
    assert load_settings().fractal_data_dir == PROJECT_ROOT / "data"


@pytest.mark.parametrize("inside", ["research/data", "strategies", "cluster/x", ".venv/data"])
def test_a_data_dir_inside_the_source_tree_is_refused(
    inside: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRACTAL_DATA_DIR", str(PROJECT_ROOT / inside))
    with pytest.raises(ConfigError, match="FRACTAL_DATA_DIR: .*inside the source tree"):
        load_settings()
    monkeypatch.chdir(PROJECT_ROOT)
    monkeypatch.setenv("FRACTAL_DATA_DIR", inside)  # relative to the working directory
    res = CliRunner().invoke(app, ["run"])
    assert res.exit_code == 2 and "inside the source tree" in res.output
    assert not (PROJECT_ROOT / inside / "store").exists()


def test_smc_threads_come_from_the_environment_through_the_cli(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """strategies/ never reads FRACTAL_SMC_THREADS: the CLI's settings pass it in."""
    import typer

    from cluster.cli_common import settings_or_exit
    from strategies.smc import set_default_threads
    from strategies.smc._schedule import default_threads

    try:
        monkeypatch.setenv("FRACTAL_SMC_THREADS", "1")
        assert settings_or_exit().fractal_smc_threads == 1
        assert default_threads() == 1
        monkeypatch.setenv("FRACTAL_SMC_THREADS", "0")
        with pytest.raises(typer.Exit) as exc:
            settings_or_exit()
        assert exc.value.exit_code == 2
        assert default_threads() == 1  # a bad value changes nothing
        monkeypatch.delenv("FRACTAL_SMC_THREADS")
        assert settings_or_exit().fractal_smc_threads is None
        assert default_threads() >= 1
    finally:
        set_default_threads(None)


def test_runner_layout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """LIVE_RUNNERS_PER_ACTOR: unset keeps the layout's own grouping (all in one locally, one per
    symbol on a cluster), a number overrides it, a negative one stops the start naming it."""
    from cluster.cli_live import placement_for

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert load_settings().live_runners_per_actor is None
    assert placement_for(None, None, None).runners_per_actor == 0
    monkeypatch.setenv("LIVE_RUNNERS_PER_ACTOR", "1")
    n = load_settings().live_runners_per_actor
    assert n == 1 and placement_for(None, None, n).runners_per_actor == 1
    monkeypatch.setenv("LIVE_RUNNERS_PER_ACTOR", "-1")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "live_runners_per_actor" in str(exc.value).lower()
