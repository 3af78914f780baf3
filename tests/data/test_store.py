"""Parquet store: round trip on real files, idempotent merge, conflicts, atomic writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from research.data.csv_files import load_csv, load_funding_csv, parse_csv_name
from research.data.importer import import_file, import_paths
from research.data.store import DataConflictError, MarketStore
from research.data.symbols import canonical_symbol
from research.data.validation import DataValidationError
from tests.conftest import MARKET
from tests.data.helpers import START_MS, bars, manifest, raw_csv

HL_15M = "hyperliquid_perp_2025/hyperliquid_BTCUSDC_15m.csv.gz"
HL_FUNDING = "hyperliquid_perp_2025/hyperliquid_SOLUSDC_funding.csv.gz"


@pytest.fixture
def store(tmp_path: Path) -> MarketStore:
    return MarketStore(tmp_path / "store")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_equals_csv(df: pd.DataFrame, raw: pd.DataFrame, cols: list[str]) -> None:
    assert isinstance(df.index, pd.DatetimeIndex) and df.index.name == "time"
    assert str(df.index.tz) == "UTC"
    assert list(df.columns) == cols
    assert all(df[c].dtype == np.float64 for c in cols)
    assert np.array_equal(df.index.asi8 // 1_000_000, raw["timestamp"].to_numpy())
    assert np.array_equal(df[cols].to_numpy(), raw[cols].to_numpy(dtype="float64"))


@pytest.mark.parametrize(
    "rel",
    [HL_15M, "binance_spot_2021/binance_ETHUSDT_1h.csv.gz", "ftx_perp_2022/ftx_BTC-PERP_1m.csv.gz"],
)
def test_round_trip_real_file(store: MarketStore, rel: str) -> None:
    report = import_file(store, MARKET / rel)
    name = parse_csv_name(rel)
    assert report.created and report.rows_added == manifest()[rel]["rows"]
    df = store.read(name.venue, name.symbol, name.timeframe)
    cols = ["open", "high", "low", "close", "volume"]
    _assert_equals_csv(df, raw_csv(rel), cols)
    _assert_equals_csv(load_csv(MARKET / rel), raw_csv(rel), cols)


def test_round_trip_funding(store: MarketStore) -> None:
    import_file(store, MARKET / HL_FUNDING)
    df = store.read_funding("hyperliquid", "SOL")
    _assert_equals_csv(df, raw_csv(HL_FUNDING), ["funding_rate"])
    _assert_equals_csv(load_funding_csv(MARKET / HL_FUNDING), raw_csv(HL_FUNDING), ["funding_rate"])


def test_symbol_notations_share_one_dataset(store: MarketStore) -> None:
    import_file(store, MARKET / HL_15M)
    frames = [
        store.read("hyperliquid", s, "15m") for s in ("BTC", "btc", "BTCUSDC", "BTC/USDC:USDC")
    ]
    assert all(f.equals(frames[0]) for f in frames)
    assert [i.symbol for i in store.list()] == ["BTC"]
    assert canonical_symbol("binanceusdm", "BTC/USDT:USDT") == "BTCUSDT"
    assert canonical_symbol("hyperliquid", "kPEPE") == "kPEPE"
    with pytest.raises(ValueError, match="invalid symbol"):
        store.read("hyperliquid", "BTC USD", "15m")


def test_read_window_is_half_open(store: MarketStore) -> None:
    store.write("x", "AAA", "5m", bars(12))
    t = [pd.Timestamp(START_MS + i * 300_000, unit="ms", tz="UTC") for i in range(12)]
    df = store.read("x", "AAA", "5m", start=t[2], end=t[5])
    assert list(df.index) == t[2:5]
    assert len(store.read("x", "AAA", "5m", start="2030-01-01")) == 0


def test_reimport_is_idempotent(store: MarketStore) -> None:
    first = import_paths(store, [MARKET / "hyperliquid_perp_2025"])
    assert all(r.error is None for r in first)
    shas = {p: _sha(p) for p in store.root.rglob("*.parquet")}
    second = import_paths(store, [MARKET / "hyperliquid_perp_2025"])
    assert all(r.report is not None and not r.report.changed for r in second)
    assert all(r.report.rows_identical == r.report.rows_total for r in second if r.report)
    assert {p: _sha(p) for p in store.root.rglob("*.parquet")} == shas
    # one dataset per file, row counts as in the manifest
    infos = {(i.symbol, i.timeframe): i.rows for i in store.list()}
    for rel, entry in manifest().items():
        if rel.startswith("hyperliquid_perp_2025/"):
            key = (canonical_symbol("hyperliquid", entry["symbol"]), entry["timeframe"])
            assert infos[key] == entry["rows"], rel


def test_same_name_in_two_folders_merges_without_duplicates(store: MarketStore) -> None:
    rels = [f"binance_usdm_{y}/binanceusdm_BTCUSDT_1h.csv.gz" for y in (2023, 2025)]
    results = import_paths(store, [MARKET / r for r in rels])
    results += import_paths(store, [MARKET / rels[0]])  # again: nothing new
    assert all(r.error is None for r in results)
    df = store.read("binanceusdm", "BTCUSDT", "1h")
    assert len(df) == sum(manifest()[r]["rows"] for r in rels)
    assert df.index.is_unique and df.index.is_monotonic_increasing
    assert results[-1].report is not None and results[-1].report.rows_added == 0


def test_incremental_append_without_duplicates(store: MarketStore) -> None:
    full = raw_csv(HL_15M)
    head, tail = full.iloc[:9000], full.iloc[8000:]  # 1000 overlapping rows
    store.write("hyperliquid", "BTC", "15m", head)
    report = store.append("hyperliquid", "BTC", "15m", tail)
    assert (report.rows_added, report.rows_identical) == (len(full) - 9000, 1000)
    assert report.rows_total == len(full)
    _assert_equals_csv(store.read("hyperliquid", "BTC", "15m"), full, list(full.columns[1:]))


def test_conflicting_rows_rejected_and_store_unchanged(store: MarketStore) -> None:
    store.write("x", "AAA", "5m", bars(10))
    before = store.read("x", "AAA", "5m")
    sha = _sha(store.path("x", "AAA", "5m"))
    changed = bars(12).iloc[5:].copy()
    changed.loc[7, "close"] += 0.5
    with pytest.raises(DataConflictError, match="1 incoming rows differ"):
        store.append("x", "AAA", "5m", changed)
    assert _sha(store.path("x", "AAA", "5m")) == sha
    assert store.read("x", "AAA", "5m").equals(before)
    report = store.append("x", "AAA", "5m", changed, overwrite=True)
    assert (report.rows_overwritten, report.rows_added, report.rows_total) == (1, 2, 12)
    after = store.read("x", "AAA", "5m")
    assert after["close"].iloc[7] == changed.loc[7, "close"]
    assert after.iloc[:7].equals(before.iloc[:7])


def test_real_conflict_between_shipped_binance_files(store: MarketStore) -> None:
    """binance_spot_2021 and the 2017-2024 BTC history disagree on a few hours around outages:
    the second import must be refused and the first one kept intact."""
    a = "binance_spot_2021/binance_BTCUSDT_1h.csv.gz"
    b = "binance_spot_btc_2017_2024/binance_BTCUSDT_1h.csv.gz"
    import_file(store, MARKET / a)
    sha = _sha(store.path("binance", "BTCUSDT", "1h"))
    results = import_paths(store, [MARKET / b])
    assert results[0].error is not None and "differ from stored rows" in results[0].error
    assert _sha(store.path("binance", "BTCUSDT", "1h")) == sha


def test_invalid_write_rejected_and_nothing_lost(store: MarketStore) -> None:
    store.write("x", "AAA", "5m", bars(10))
    sha = _sha(store.path("x", "AAA", "5m"))
    bad = bars(15).iloc[10:].copy()
    bad.loc[12, "volume"] = -3.0
    with pytest.raises(DataValidationError, match="x/AAA/5m"):
        store.append("x", "AAA", "5m", bad)
    assert _sha(store.path("x", "AAA", "5m")) == sha
    with pytest.raises(DataValidationError):
        store.write("x", "NEW", "5m", bad)
    assert not store.exists("x", "NEW", "5m")


def test_write_with_repair_reports(store: MarketStore) -> None:
    df = pd.concat([bars(10), bars(10).iloc[[4]]])
    report = store.write("x", "AAA", "5m", df, repair=True)
    assert report.rows_total == 10
    assert any("duplicate" in r for r in report.validation.repairs)


def test_crash_during_write_keeps_old_file(
    store: MarketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write("x", "AAA", "5m", bars(10))
    path = store.path("x", "AAA", "5m")
    sha = _sha(path)

    def crash(table: object, where: object, **_: object) -> None:
        where.write(b"PAR1 half a file")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        store.append("x", "AAA", "5m", bars(20))
    assert _sha(path) == sha
    assert not list(path.parent.glob("*.tmp"))  # no temp file left behind


def test_missing_ranges(store: MarketStore) -> None:
    df = bars(20).drop(index=[5, 6, 7, 12])
    store.write("x", "AAA", "5m", df)
    t = lambda i: pd.Timestamp(START_MS + i * 300_000, unit="ms", tz="UTC")  # noqa: E731
    ranges = store.missing_ranges("x", "AAA", "5m", t(-3), t(25))
    assert ranges == [(t(-3), t(0)), (t(5), t(8)), (t(12), t(13)), (t(20), t(25))]
    # start off grid rounds up to the next bar; fully stored window → nothing missing
    assert store.missing_ranges("x", "AAA", "5m", t(0) + pd.Timedelta("1min"), t(5)) == []
    assert store.missing_ranges("x", "NOPE", "5m", t(0), t(2)) == [(t(0), t(2))]


def test_missing_dataset_and_bad_timeframe_are_clear_errors(store: MarketStore) -> None:
    with pytest.raises(FileNotFoundError, match="no stored data for hyperliquid/BTC/15m"):
        store.read("hyperliquid", "BTC", "15m")
    with pytest.raises(ValueError, match="unknown timeframe"):
        store.read("hyperliquid", "BTC", "15x")


def test_load_csv_any_name_infers_timeframe(tmp_path: Path) -> None:
    raw = raw_csv(HL_15M).head(200)
    path = tmp_path / "my export.csv"
    raw.to_csv(path, index=False)
    df = load_csv(path)
    _assert_equals_csv(df, raw, ["open", "high", "low", "close", "volume"])
    odd = raw.assign(timestamp=raw.timestamp // 900_000 * 420_000)  # 7-minute bars
    odd.to_csv(path, index=False)
    with pytest.raises(ValueError, match="420000 ms is not a known timeframe"):
        load_csv(path)
    with pytest.raises(ValueError, match="funding file"):
        load_csv(MARKET / HL_FUNDING)
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path / "absent_BTC_1h.csv.gz")


def test_import_checks_sha256_against_shipped_manifest(store: MarketStore, tmp_path: Path) -> None:
    """A copy laid out like shared/data/market is verified against manifest.csv; a modified
    copy (still perfectly valid candles) is refused."""
    import gzip
    import shutil

    from research.data.importer import check_against_manifest

    root = tmp_path / "market"
    (root / "hyperliquid_perp_2025").mkdir(parents=True)
    shutil.copy(MARKET / "manifest.csv", root / "manifest.csv")
    copy = root / HL_15M
    shutil.copy(MARKET / HL_15M, copy)
    assert check_against_manifest(copy)
    assert not check_against_manifest(tmp_path / "market" / "manifest.csv")  # not listed
    raw = raw_csv(HL_15M)
    raw.loc[len(raw) - 1, "volume"] += 1.0
    with gzip.open(copy, "wt") as fh:
        raw.to_csv(fh, index=False)
    results = import_paths(store, [copy])
    assert results[0].error is not None and "sha256" in results[0].error
    assert store.list() == []
