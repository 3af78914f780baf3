"""Every validation rule fires on a crafted bad frame and stays quiet on a good one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.data.timeframes import timeframe_ms
from research.data.validation import DataValidationError, find_gaps, validate_ohlcv
from tests.data.helpers import START_MS, bars, manifest, raw_csv

TF = "5m"
STEP = 300_000


def _nan(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "close"] = np.nan
    return df


def _inf(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "volume"] = np.inf
    return df


def _nonpositive(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, ["open", "low"]] = [0.0, 0.0]
    return df


def _high_below_body(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "high"] = df.loc[3, "close"] - 0.5  # still above low
    return df


def _low_above_body(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "low"] = df.loc[3, "open"] + 0.5  # still below high
    return df


def _high_below_low(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, ["open", "high", "low", "close"]] = [100.0, 99.0, 101.0, 100.0]
    return df


def _negative_volume(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "volume"] = -1.0
    return df


def _duplicate(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[3]]]).sort_values("timestamp", kind="stable")


def _out_of_order(df: pd.DataFrame) -> pd.DataFrame:
    return df.iloc[[0, 1, 3, 2, 4, 5, 6, 7, 8, 9]]


def _off_grid(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "timestamp"] += 60_000
    return df


RULES = {
    "nan": _nan,
    "nonpositive_price": _nonpositive,
    "high_lt_open_close": _high_below_body,
    "low_gt_open_close": _low_above_body,
    "high_lt_low": _high_below_low,
    "negative_volume": _negative_volume,
    "duplicates": _duplicate,
    "out_of_order": _out_of_order,
    "off_grid": _off_grid,
}


def test_valid_frame_has_no_problem() -> None:
    frame, report = validate_ohlcv(bars(), TF)
    assert report.problems == [] and report.repairs == []
    assert len(frame) == 10 and frame.index.tz is not None


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_fires(rule: str) -> None:
    bad = RULES[rule](bars())
    with pytest.raises(DataValidationError) as info:
        validate_ohlcv(bad, TF, label="x/Y/5m")
    rules = {p.rule for p in info.value.problems}
    assert rule in rules
    # message names the dataset and the count
    problem = next(p for p in info.value.problems if p.rule == rule)
    assert problem.count == 1
    assert "x/Y/5m" in str(info.value) and str(problem) in str(info.value)


def test_inf_counts_as_nan() -> None:
    with pytest.raises(DataValidationError) as info:
        validate_ohlcv(_inf(bars()), TF)
    assert [p.rule for p in info.value.problems] == ["nan"]


def test_each_rule_does_not_fire_on_boundary_values() -> None:
    """Equalities are legal: high == max(open, close), low == min(open, close), volume 0,
    a flat bar o=h=l=c."""
    df = bars()
    df.loc[1, "high"] = df.loc[1, "close"]
    df.loc[2, "low"] = df.loc[2, "open"]
    df.loc[3, ["open", "high", "low", "close"]] = 50.0
    df.loc[4, "volume"] = 0.0
    _, report = validate_ohlcv(df, TF)
    assert report.problems == []


def test_error_lists_first_offending_timestamps_and_counts() -> None:
    df = bars(20)
    df.loc[[4, 7, 9, 15], "volume"] = -1.0
    with pytest.raises(DataValidationError) as info:
        validate_ohlcv(df, TF)
    (problem,) = info.value.problems
    assert problem.count == 4
    expected = [pd.Timestamp(START_MS + i * STEP, unit="ms", tz="UTC") for i in (4, 7, 9)]
    assert list(problem.first) == expected
    assert expected[0].strftime("%Y-%m-%d %H:%M") in str(info.value)


def test_several_problems_reported_together() -> None:
    df = _negative_volume(_nan(bars()))
    df.loc[6, "timestamp"] += 1
    with pytest.raises(DataValidationError) as info:
        validate_ohlcv(df, TF)
    assert {p.rule for p in info.value.problems} == {"nan", "negative_volume", "off_grid"}


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(DataValidationError, match="missing column.*volume"):
        validate_ohlcv(bars().drop(columns="volume"), TF)


def test_unknown_timeframe_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown timeframe '7m'"):
        validate_ohlcv(bars(), "7m")


def test_repair_fixes_repairable_rules_and_reports_each_step() -> None:
    good = bars(10)
    df = bars(10)
    df.loc[2, "close"] = np.nan
    df.loc[5, "timestamp"] += 60_000
    conflicting = df.iloc[[7]].copy()
    conflicting["volume"] = 99.0
    df = pd.concat([df.iloc[::-1], df.iloc[[8]], conflicting])  # reversed, dup, conflict
    frame, report = validate_ohlcv(df, TF, repair=True)
    assert {p.rule for p in report.problems} == {"nan", "off_grid", "duplicates", "out_of_order"}
    text = " | ".join(report.repairs)
    assert "dropped 1 rows with NaN" in text
    assert "dropped 1 off-grid rows" in text
    assert "sorted" in text
    assert "dropped 2 duplicate-timestamp rows (1 timestamps had differing values" in text
    assert report.rows_in == 12 and report.rows_out == 8 == len(frame)
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    # the last occurrence of a conflicting duplicate wins
    bar7 = pd.Timestamp(START_MS + 7 * STEP, unit="ms", tz="UTC")
    assert frame.loc[bar7, "volume"] == 99.0
    assert (frame.drop(index=bar7)["volume"] == 5.0).all()
    # the dropped rows leave gaps that are reported, not filled
    assert report.gaps.missing_bars == 2 and report.gaps.gaps == 2
    kept = good.drop(index=[2, 5])
    assert np.array_equal(frame.index.asi8 // 1_000_000, kept["timestamp"].to_numpy())


def test_repair_never_fixes_prices() -> None:
    with pytest.raises(DataValidationError, match="after repair") as info:
        validate_ohlcv(_high_below_low(_duplicate(bars())), TF, repair=True)
    rules = {p.rule for p in info.value.problems}
    assert "high_lt_low" in rules and "duplicates" not in rules


def test_gap_is_a_warning_not_an_error() -> None:
    df = bars(20).drop(index=[5, 6, 7, 12])
    _, report = validate_ohlcv(df, TF)
    assert report.problems == []
    assert (report.gaps.missing_bars, report.gaps.gaps, report.gaps.largest_gap_bars) == (4, 2, 3)
    assert report.gaps.largest_gap_after == pd.Timestamp(START_MS + 4 * STEP, unit="ms", tz="UTC")
    assert report.warnings and "4 missing bars in 2 gaps" in report.warnings[0]


def test_no_gap_no_warning() -> None:
    _, report = validate_ohlcv(bars(20), TF)
    assert report.gaps.gaps == 0 and report.warnings == []


@pytest.mark.parametrize(
    "rel",
    [
        "binance_spot_2021/binance_BTCUSDT_5m.csv.gz",
        "binance_spot_btc_2017_2024/binance_BTCUSDT_1h.csv.gz",
        "freqtrade_testdata_2018/bittrex_ADABTC_5m.csv.gz",
        "freqtrade_testdata_2018/bittrex_TRXBTC_5m.csv.gz",
        "hyperliquid_perp_2025/hyperliquid_ETHUSDC_15m.csv.gz",
    ],
)
def test_gap_counts_match_manifest(rel: str) -> None:
    expected = manifest()[rel]
    raw = raw_csv(rel)
    frame, report = validate_ohlcv(raw, expected["timeframe"])
    assert len(frame) == expected["rows"]
    assert report.gaps.missing_bars == expected["missing_bars"]
    assert report.gaps.gaps == expected["gaps"]
    if expected["gaps"]:
        assert report.gaps.largest_gap_bars == expected["largest_gap_bars"]
        assert report.gaps.largest_gap_after == pd.Timestamp(expected["largest_gap_after"])


def test_find_gaps_matches_manifest_for_every_hyperliquid_1m_file() -> None:
    for rel, entry in manifest().items():
        if rel.startswith("hyperliquid_perp_2025/") and entry["timeframe"] == "1m":
            ts = pd.to_datetime(raw_csv(rel)["timestamp"], unit="ms", utc=True)
            gaps = find_gaps(pd.DatetimeIndex(ts), timeframe_ms("1m"))
            assert (gaps.missing_bars, gaps.gaps) == (entry["missing_bars"], entry["gaps"]), rel
