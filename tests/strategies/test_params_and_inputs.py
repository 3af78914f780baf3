"""Parameter models (ranges the sweeps read), bad parameters and bad inputs -> clear errors."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from strategies import bos_orderblock as bo
from strategies import liquidity_sweep as ls
from strategies import registry
from strategies.smc.pipeline import detect, make_params
from tests.strategies.helpers import ohlc_frame, shipped, timed

MODULES = [ls, bo]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_registered_with_the_contract(module: ModuleType) -> None:
    assert registry.get(module.NAME) is module
    assert module.NAME in registry.names()


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_every_field_declares_a_sweep_range_or_choices(module: ModuleType) -> None:
    schema = module.Params.model_json_schema()["properties"]
    defaults = module.Params()
    for name, prop in schema.items():
        if "sweep" in prop:
            lo, hi, step = prop["sweep"]
            assert prop["minimum"] <= lo < hi <= prop["maximum"] and step > 0, name
        else:
            assert "choices" in prop, f"{name} declares neither sweep nor choices"
            assert getattr(defaults, name) in prop["choices"], name


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_detector_params_are_valid_detector_settings(module: ModuleType) -> None:
    p = module.Params(swing_length=30, internal_length=4, atr_period=10)
    dp = p.detector_params()
    assert dp["swing_length"] == 30 and dp["internal_length"] == 4 and dp["atr_period"] == 10
    make_params(**dp)  # every name is a detector parameter with an accepted value


@pytest.mark.parametrize(
    ("module", "kw", "needle"),
    [
        (ls, {"rr": 0.0}, "rr"),
        (ls, {"confirm_bars": -1}, "confirm_bars"),
        (ls, {"side": "up"}, "side"),
        (ls, {"target_mode": "structure"}, "target_mode"),
        (ls, {"typo": 1}, "typo"),
        (bo, {"scale": "weekly"}, "scale"),
        (bo, {"max_wait": 0}, "max_wait"),
        (bo, {"stop_atr_buffer": -0.1}, "stop_atr_buffer"),
        (bo, {"swing_length": 1}, "swing_length"),
        (bo, {"cooldown": 1.5}, "cooldown"),
    ],
)
def test_bad_params_name_the_field(module: ModuleType, kw: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        module.Params(**kw)
    with pytest.raises(ValidationError, match=needle):
        module.generate(ohlc_frame([(1.0, 1.0, 1.0, 1.0)]), kw)


def test_params_are_frozen_and_accept_cli_strings() -> None:
    p = ls.Params.model_validate({"rr": "3", "side": "long", "trend_filter": "true"})
    assert (p.rr, p.side, p.trend_filter) == (3.0, "long", True)
    with pytest.raises(ValidationError, match="frozen"):
        p.rr = 1.0  # type: ignore[misc]


def test_params_of_the_wrong_type() -> None:
    df = ohlc_frame([(1.0, 1.0, 1.0, 1.0)])
    with pytest.raises(TypeError, match="params must be strategies.liquidity_sweep.Params"):
        ls.generate(df, "rr=2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="params must be"):
        bo.stream(3)  # type: ignore[arg-type]


def test_mapping_params_equal_model_params() -> None:
    df = shipped(n=2000)
    a = bo.generate(df, {"rr": 3.0, "cooldown": 0})  # type: ignore[arg-type]
    b = bo.generate(df, bo.Params(rr=3.0, cooldown=0))
    assert np.array_equal(a.target, b.target, equal_nan=True)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_bad_data_is_named(module: ModuleType) -> None:
    with pytest.raises(TypeError, match="OHLCV DataFrame"):
        module.generate(np.ones((5, 4)))
    with pytest.raises(ValueError, match="empty"):
        module.generate(pd.DataFrame({"open": [], "high": [], "low": [], "close": []}))
    with pytest.raises(ValueError, match="DatetimeIndex or a `timestamp` column"):
        module.generate(pd.DataFrame({"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0]}))
    bad = ohlc_frame([(1.0, 1.0, 1.0, 1.0)] * 3)
    bad.iloc[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        module.generate(bad)
    no_close = ohlc_frame([(1.0, 1.0, 1.0, 1.0)] * 3).drop(columns=["close"])
    with pytest.raises(ValueError, match="close"):
        module.generate(no_close)


def test_detections_that_do_not_fit_the_data() -> None:
    df = timed(shipped(n=300))
    det = detect(df)
    with pytest.raises(ValueError, match="detections have 200 rows but the data has 300 bars"):
        ls.generate(df, detections=det.iloc[:200])
    with pytest.raises(ValueError, match="detections lack column.*liq_ssl_sweep"):
        ls.generate(df, detections=det.drop(columns=["liq_ssl_sweep"]))
    with pytest.raises(ValueError, match="missing column.*close"):
        bo.generate(df.drop(columns=["close"]), detections=det)
