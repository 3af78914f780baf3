"""Sessions and kill zones (docs/smc.md §3.7): DST, [start, end), midnight wrap, an independent
pandas reference, stream == batch, prefix property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.smc import sessions
from strategies.smc._common import HIGH, LOW, TIME, as_bars
from tests.causality import assert_prefix_property
from tests.smc.helpers import assert_stream_equals_batch
from tests.smc.test_atr import BTC_5M, ETH_1H, assert_int_columns_clean, assert_same, real_bars

C = {name: k for k, name in enumerate(sessions.COLUMNS)}
MIN = 60_000.0


def bars_at(stamps: list[str], highs: list[float] | None = None) -> np.ndarray:
    t = np.array([pd.Timestamp(s, tz="UTC").value // 1_000_000 for s in stamps], float)
    h = np.arange(len(t), dtype=float) + 100 if highs is None else np.asarray(highs, float)
    return as_bars(h - 0.5, h, h - 1, h - 0.5, np.ones(len(t)), t)


def col(out: np.ndarray, name: str) -> np.ndarray:
    return out[:, C[name]]


def test_london_moves_with_dst_and_end_is_exclusive() -> None:
    winter = ["2025-01-15 07:55", "2025-01-15 08:00", "2025-01-15 16:55", "2025-01-15 17:00"]
    summer = ["2025-07-15 06:55", "2025-07-15 07:00", "2025-07-15 15:55", "2025-07-15 16:00"]
    for stamps in (winter, summer):
        out = sessions.run(bars_at(stamps))
        assert list(col(out, "session_london_active")) == [0, 1, 1, 0], stamps
    ny = ["2025-01-15 12:55", "2025-01-15 13:00", "2025-07-15 11:55", "2025-07-15 12:00"]
    assert list(col(sessions.run(bars_at(ny)), "session_new_york_active")) == [0, 1, 0, 1]


def test_kill_zones_in_new_york_time() -> None:
    # 2025-07-15 (EDT, UTC-4): London open KZ 02:00-05:00 NY = 06:00-09:00 UTC
    stamps = ["2025-07-15 05:59", "2025-07-15 06:00", "2025-07-15 08:59", "2025-07-15 09:00"]
    out = sessions.run(bars_at(stamps))
    assert list(col(out, "session_kz_london_open_active")) == [0, 1, 1, 0]
    # Asian KZ 20:00-00:00 NY wraps to the next UTC day: 00:00-04:00 UTC in summer
    stamps = ["2025-07-15 23:59", "2025-07-16 00:00", "2025-07-16 03:59", "2025-07-16 04:00"]
    assert list(col(sessions.run(bars_at(stamps)), "session_kz_asian_active")) == [0, 1, 1, 0]


def test_running_high_low_and_start_within_one_instance() -> None:
    stamps = ["2025-01-15 07:00", "2025-01-15 08:00", "2025-01-15 09:00", "2025-01-15 10:00"]
    out = sessions.run(bars_at(stamps, highs=[200, 105, 110, 103]))
    assert (
        np.isnan(col(out, "session_london_high")[0]) and col(out, "session_london_start")[0] == -1
    )
    assert list(col(out, "session_london_high")[1:]) == [105, 110, 110]
    assert list(col(out, "session_london_low")[1:]) == [104, 104, 102]
    assert list(col(out, "session_london_start")[1:]) == [1, 1, 1]


def test_wrapping_custom_session_and_gaps_never_join_days() -> None:
    p = sessions.Params(
        session_custom_zone="UTC", session_custom_start="22:00", session_custom_end="02:00"
    )
    stamps = [
        "2025-01-15 21:00", "2025-01-15 22:00", "2025-01-15 23:00", "2025-01-16 01:00",
        "2025-01-16 02:00", "2025-01-16 22:00", "2025-01-18 23:00",
    ]  # fmt: skip
    out = sessions.run(bars_at(stamps, highs=[300, 105, 104, 110, 300, 90, 80]), p)
    assert list(col(out, "session_custom_active")) == [0, 1, 1, 1, 0, 1, 1]
    assert list(col(out, "session_custom_start")) == [-1, 1, 1, 1, -1, 5, 6]
    assert list(col(out, "session_custom_high")[[1, 2, 3, 5, 6]]) == [105, 105, 110, 90, 80]
    assert not col(sessions.run(bars_at(stamps)), "session_custom_active").any()  # off by default


def test_matches_a_pandas_reference_on_real_data() -> None:
    bars = real_bars(BTC_5M)
    out = sessions.run(bars)
    stamp = pd.to_datetime(bars[:, TIME].astype(np.int64), unit="ms", utc=True)
    for name, zone, start, end in sessions.PRESETS:
        local = stamp.tz_convert(zone)
        minute = local.hour * 60 + local.minute
        a = int(start[:2]) * 60 + int(start[3:])
        b = int(end[:2]) * 60 + int(end[3:])
        inside = (minute >= a) & (minute < b) if a < b else (minute >= a) | (minute < b)
        inside = np.asarray(inside)
        assert_same(col(out, f"session_{name}_active"), inside.astype(float))
        day = local.tz_localize(None).floor("D") - pd.to_timedelta(
            np.where((a > b) & (minute < b), 1, 0), unit="D"
        )
        key = pd.Series(np.where(inside, day.asi8, -1))
        high = pd.Series(bars[:, HIGH]).groupby(key).cummax().where(inside).to_numpy()
        low = pd.Series(bars[:, LOW]).groupby(key).cummin().where(inside).to_numpy()
        assert_same(col(out, f"session_{name}_high"), high)
        assert_same(col(out, f"session_{name}_low"), low)
        assert 0.05 < inside.mean() < 0.5


def test_live_stream_equals_batch() -> None:
    """The live path (``SMCStream``: every concept's ``step`` in one fused call per bar)
    equals batch on every row and column."""
    assert_stream_equals_batch(
        real_bars(BTC_5M),
        session_custom_zone="Europe/Berlin",
        session_custom_start="23:30",
        session_custom_end="01:15",
    )


@pytest.mark.causality
def test_prefix_property_every_t() -> None:
    bars = real_bars(ETH_1H, 1500)
    assert_prefix_property(sessions.run, bars, range(len(bars)))


@pytest.mark.causality
@given(st.integers(0, 38_000), st.sampled_from(["21:00", "08:00", "00:00"]))
def test_prefix_property_random_cuts(t: int, start: str) -> None:
    bars = real_bars(BTC_5M)
    p = sessions.Params(
        session_custom_zone="Australia/Sydney",
        session_custom_start=start,
        session_custom_end="06:30",
    )
    assert_prefix_property(lambda b: sessions.run(b, p), bars, [min(t, len(bars) - 1)])


def test_bad_params_are_named() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        sessions.Params(session_custom_start="8:00")
    with pytest.raises(ValueError, match="IANA"):
        sessions.Params(session_custom_zone="Nowhere/Town")
    with pytest.raises(ValueError, match="differ"):
        sessions.Params(session_custom_zone="UTC")


def test_int_columns_are_whole_numbers() -> None:
    bars = real_bars(BTC_5M)
    out = sessions.run(bars)
    assert_int_columns_clean(out, sessions.COLUMNS, sessions.INT_COLUMNS)
    rows = np.arange(len(bars))
    for name in sessions.SESSIONS:
        start = col(out, f"session_{name}_start")
        active = col(out, f"session_{name}_active") == 1
        assert np.all((start[active] <= rows[active]) & (start[active] >= 0))
        assert np.all(start[~active] == -1)
