"""Previous period high/low (docs/smc.md §3.6): hand cases, an independent groupby reference,
DST day boundaries, stream == batch, prefix property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import periods
from strategies.smc._common import HIGH, LOW, TIME, as_bars
from tests.causality import assert_prefix_property
from tests.smc.helpers import assert_stream_equals_batch
from tests.smc.test_atr import BTC_5M, ETH_1H, assert_int_columns_clean, assert_same, real_bars

C = {name: k for k, name in enumerate(periods.COLUMNS)}
HOUR = 3_600_000.0
MON = pd.Timestamp("2025-01-06", tz="UTC").value // 1_000_000  # a Monday, 00:00 UTC


def hourly(highs: list[float], t0: float = MON, lows: list[float] | None = None) -> np.ndarray:
    h = np.asarray(highs, float)
    lo = h - 1 if lows is None else np.asarray(lows, float)
    t = t0 + HOUR * np.arange(len(h))
    return as_bars((h + lo) / 2, h, lo, (h + lo) / 2, np.ones(len(h)), t)


def col(out: np.ndarray, name: str) -> np.ndarray:
    return out[:, C[name]]


def test_previous_day_is_right_on_the_first_bar() -> None:
    highs = [100.0] * 48
    highs[5] = 110  # day 1 high at hour 5
    highs[30] = 108  # day 2: below day 1's high ...
    highs[40] = 111  # ... until hour 16 of day 2 breaks it
    out = periods.run(hourly(highs))
    assert np.isnan(col(out, "prev_d_high")[:24]).all()
    assert np.all(col(out, "prev_d_high")[24:] == 110)  # including row 24, the day's first bar
    assert np.all(col(out, "prev_d_high_ref")[24:] == 5)
    assert np.all(col(out, "prev_d_low")[24:] == 99)
    assert np.all(col(out, "prev_d_low_ref")[24:] == 0)  # first bar on ties
    assert list(np.flatnonzero(col(out, "prev_d_broken_high"))) == list(range(40, 48))
    assert not col(out, "prev_d_broken_low").any()
    assert np.all(col(out, "prev_d_start")[:24] == 0) and np.all(
        col(out, "prev_d_start")[24:] == 24
    )
    # 4h: hour 4..7 is the block after hour 0..3; the hour-5 high shows from hour 8 on
    assert np.all(col(out, "prev_4h_high")[4:8] == 100) and np.all(
        col(out, "prev_4h_high")[8:12] == 110
    )
    assert col(out, "prev_4h_broken_high")[5] == 1 and col(out, "prev_4h_broken_high")[4] == 0
    assert np.isnan(col(out, "prev_w_high")).all()  # one week only


def test_a_missing_day_uses_the_latest_day_with_bars() -> None:
    bars = hourly([100.0 + k for k in range(24)] + [50.0] * 24)
    bars[24:, TIME] += 24 * HOUR  # day 2 has no bars; day 3 follows day 1
    out = periods.run(bars)
    assert np.all(col(out, "prev_d_high")[24:] == 123)
    assert np.all(col(out, "prev_d_broken_low")[24:] == 1)


def test_week_starts_on_monday_utc() -> None:
    bars = hourly([100.0] * (24 * 8), t0=MON - 24 * HOUR)  # Sunday 00:00 .. Sunday 23:00
    bars[3, HIGH] = 120
    out = periods.run(bars)
    assert np.isnan(col(out, "prev_w_high")[:24]).all()
    assert np.all(col(out, "prev_w_high")[24:] == 120)
    assert np.all(col(out, "prev_w_start")[24:] == 24)


def test_new_york_days_follow_dst() -> None:
    # US DST starts 2025-03-09: local midnight is 05:00 UTC before, 04:00 UTC after
    t0 = pd.Timestamp("2025-03-08 00:00", tz="UTC").value // 1_000_000
    bars = hourly([100.0] * 72, t0=t0)
    out = periods.run(bars, periods.Params(periods_zone="America/New_York"))
    starts = sorted(set(col(out, "prev_d_start").astype(int)))
    utc_hours = [pd.Timestamp(bars[s, TIME], unit="ms").strftime("%d %H") for s in starts]
    assert utc_hours == ["08 00", "08 05", "09 05", "10 04"]
    assert np.all(col(periods.run(bars), "prev_d_start") % 24 == 0)  # UTC default


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "Asia/Tokyo"])
def test_daily_and_weekly_match_a_groupby_reference(zone: str) -> None:
    bars = real_bars(BTC_5M)
    out = periods.run(bars, periods.Params(periods_zone=zone))
    stamp = pd.to_datetime(bars[:, TIME].astype(np.int64), unit="ms", utc=True)
    local = stamp.tz_convert(zone).tz_localize(None)
    for tf, key in (("d", local.floor("D")), ("w", local.to_period("W-SUN").start_time)):
        df = pd.DataFrame({"h": bars[:, HIGH], "l": bars[:, LOW], "k": key})
        per = df.groupby("k").agg(h=("h", "max"), l=("l", "min"))
        prev = per.shift(1).reindex(df["k"]).to_numpy()
        assert_same(col(out, f"prev_{tf}_high"), prev[:, 0])
        assert_same(col(out, f"prev_{tf}_low"), prev[:, 1])
        ph = prev[:, 0]
        running = df.groupby("k")["h"].cummax().to_numpy()
        expect = np.where(np.isnan(ph), 0.0, (running > ph).astype(float))
        assert_same(col(out, f"prev_{tf}_broken_high"), expect)
    ref = col(out, "prev_4h_high_ref").astype(int)
    ok = ref >= 0
    assert np.all(bars[ref[ok], HIGH] == col(out, "prev_4h_high")[ok])
    assert np.all(ref[ok] < col(out, "prev_4h_start")[ok])  # strictly before the period


@pytest.mark.parametrize("zone", ["UTC", "Europe/London"])  # London DST: 2025-03-30
def test_live_stream_equals_batch(zone: str) -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column."""
    assert_stream_equals_batch(real_bars(BTC_5M), periods_zone=zone)


@pytest.mark.causality
def test_prefix_property_every_t() -> None:
    bars = real_bars(ETH_1H, 1500)
    for zone in ("UTC", "Europe/London"):
        p = periods.Params(periods_zone=zone)
        assert_prefix_property(lambda b, p=p: periods.run(b, p), bars, range(len(bars)))


@pytest.mark.causality
@given(st.integers(0, 38_000), st.sampled_from(["UTC", "Europe/London", "Australia/Sydney"]))
def test_prefix_property_random_cuts(t: int, zone: str) -> None:
    bars = real_bars(BTC_5M)
    p = periods.Params(periods_zone=zone)
    assert_prefix_property(lambda b: periods.run(b, p), bars, [min(t, len(bars) - 1)])


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="IANA"):
        periods.Params(periods_zone="Mars/Olympus")
    bars = hourly([1.0, 2.0, 3.0])
    bars[2, TIME] = 0.0
    with pytest.raises(ValueError, match="non-decreasing"):
        periods.run(bars)


@pytest.mark.parametrize(
    "zone", ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
)
def test_local_time_per_hour_rule_equals_per_bar_conversion(zone: str) -> None:
    # 7-minute bars over two years cross every DST change (Lord Howe shifts by 30 minutes)
    t0 = pd.Timestamp("2024-01-01", tz="UTC").value // 1_000_000
    t = t0 + 420_000.0 * np.arange(150_000) + 13_000.0
    bars = as_bars(t, t, t, t, t, t)
    batch = periods.local_ms(bars, zone)
    picks = np.random.default_rng(7).choice(len(t), 3000, replace=False)
    near_change = np.flatnonzero(np.diff(batch - t) != 0)
    for k in np.r_[picks, near_change, near_change + 1]:
        assert batch[k] == periods.local_ms_one(t[k], zone)
    assert len(near_change) >= (0 if zone == "Asia/Kolkata" else 4)


ZONES = ("UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")


@pytest.mark.parametrize("span_days", [3, 400, 40 * 365])
def test_kept_hour_tables_equal_the_per_hour_conversion(span_days: int) -> None:
    # random bar times (a few per hour or a few per year): the kept per-block tables (dense
    # spans) and the conversion of each bar's own hours (spans over _MAX_BLOCKS) agree exactly
    rng = np.random.default_rng(span_days)
    t0 = pd.Timestamp("2001-03-01", tz="UTC").value // 1_000_000
    t = np.sort(t0 + rng.uniform(0, span_days * 86_400_000.0, 4000)).round()
    bars = as_bars(t, t, t, t, t, t)
    got = periods.local_times(bars, ZONES)
    want = periods._hour_offsets(t, ZONES, np.empty_like(got))
    assert np.array_equal(got, want)
    for k in np.random.default_rng(1).choice(len(t), 200, replace=False):
        assert [got[k, z] for z in range(len(ZONES))] == [
            periods.local_ms_one(t[k], zone) for zone in ZONES
        ]


def test_kept_hour_tables_convert_split_hours_per_bar() -> None:
    # Lord Howe moves its clocks forward by 30 minutes at 15:30 UTC: the hour from 15:00 has
    # two offsets (its table entry is NaN), so its bars are converted one by one
    zone = "Australia/Lord_Howe"
    start = pd.Timestamp("2025-10-04 14:00", tz="UTC").value // 1_000_000
    t = start + 60_000.0 * np.arange(180)
    hour = int(start // HOUR)
    assert np.isnan(
        periods._hour_table(zone, (hour + 1) // periods._BLOCK_HOURS)[
            (hour + 1) % periods._BLOCK_HOURS
        ]
    )
    local = periods.local_times(as_bars(t, t, t, t, t, t), (zone,))[:, 0]
    assert (local - t)[90] != (local - t)[89]  # 15:30 UTC
    assert all(local[k] == periods.local_ms_one(t[k], zone) for k in range(180))


def test_int_columns_are_whole_numbers() -> None:
    bars = real_bars(BTC_5M)
    out = periods.run(bars, periods.Params(periods_zone="Europe/London"))
    assert_int_columns_clean(out, periods.COLUMNS, periods.INT_COLUMNS)
