"""Hyperliquid public market data through the official SDK (`hyperliquid.info.Info`).

Candles (`candleSnapshot`, ≤ 5000 per reply, only the latest 5000 bars are served), funding
history (`fundingHistory`, ≤ 500 rows per reply) and asset metadata (`meta`). Every call goes
through the one retry policy. No private key is ever needed: `/info` is public.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from research.data.retry import FetchError, call_with_retry
from research.data.symbols import canonical_symbol
from research.data.timeframes import timeframe_ms
from research.data.validation import FUNDING_GRID_MS, frame_from_rows

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
CANDLE_PAGE = 5000  # the venue serves at most 5000 candles per request
FUNDING_PAGE = 500  # and at most 500 funding prints per reply
_LOOPBACK = ("http://127.0.0.1", "http://localhost", "http://[::1]")


@dataclass(frozen=True)
class AssetMeta:
    """Per-coin trading metadata from `meta`."""

    name: str
    sz_decimals: int
    max_leverage: int
    delisted: bool = False


def check_base_url(base_url: str) -> str:
    """Only the official URLs or loopback; strip a trailing slash (it breaks ``/info`` paths)."""
    url = (base_url or "").rstrip("/")
    if url in (MAINNET_URL, TESTNET_URL) or url.startswith(_LOOPBACK):
        return url
    raise ValueError(
        f"refusing Hyperliquid base URL {base_url!r}: use {MAINNET_URL}, {TESTNET_URL} "
        "or a loopback http://127.0.0.1:PORT"
    )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class HyperliquidFetcher:
    """Pages Hyperliquid `/info` market data into the store's frame shapes."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.timeout = timeout
        self._sleep = sleep
        self._clock_ms = clock_ms
        self._info: Any = None

    def _call(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        return call_with_retry(f"hyperliquid {name}", fn, *args, sleep=self._sleep)

    @property
    def info(self) -> Any:
        """The SDK client, built once (its constructor itself calls `spotMeta` and `meta`)."""
        if self._info is None:
            from hyperliquid.info import Info

            self._info = self._call(
                "Info()", lambda: Info(self.base_url, skip_ws=True, timeout=self.timeout)
            )
        return self._info

    def _coin(self, symbol: str) -> str:
        coin = canonical_symbol("hyperliquid", symbol)
        if coin not in self.info.name_to_coin:
            known = ", ".join(sorted(self.info.name_to_coin)[:20])
            raise ValueError(f"unknown Hyperliquid coin {coin!r} (known: {known} …)")
        return coin

    def meta(self) -> list[AssetMeta]:
        """szDecimals and maxLeverage of every perp (delisted ones flagged, not dropped)."""
        reply = self._call("meta", self.info.meta)
        try:
            return [
                AssetMeta(
                    str(a["name"]),
                    int(a["szDecimals"]),
                    int(a["maxLeverage"]),
                    bool(a.get("isDelisted", False)),
                )
                for a in reply["universe"]
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"unexpected hyperliquid meta reply: {err!r}") from None

    def candles(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Closed candles with ``start_ms <= open time < end_ms`` (the open bar is dropped).

        Pages forward in windows of ≤ 5000 bars; resumes after the last bar received so a
        shorter reply never loses data, and jumps a whole window on an empty reply (history
        older than the venue's 5000-bar horizon is simply absent).
        """
        step = timeframe_ms(timeframe)
        coin = self._coin(symbol)
        end_ms = min(end_ms, self._clock_ms())
        rows: dict[int, list[float]] = {}
        cursor = start_ms
        while cursor < end_ms:
            window_end = min(end_ms, cursor + CANDLE_PAGE * step) - 1
            reply = self._call(
                f"candles_snapshot({coin},{timeframe})",
                self.info.candles_snapshot,
                coin,
                timeframe,
                cursor,
                window_end,
            )
            last = None
            for c in _list(reply, "candleSnapshot"):
                try:
                    t = int(c["t"])
                    rows[t] = [float(c[k]) for k in ("o", "h", "l", "c", "v")]
                except (KeyError, TypeError, ValueError) as err:
                    raise ValueError(f"malformed hyperliquid candle {c!r}: {err!r}") from None
                last = t if last is None else max(last, t)
            # resume right after the newest bar received (a short reply loses nothing);
            # an empty or stale reply skips the whole window
            cursor = last + step if last is not None and last + step > cursor else window_end + 1
        now = self._clock_ms()
        keep = sorted(t for t in rows if start_ms <= t < end_ms and t + step <= now)
        return frame_from_rows(
            keep, [rows[t] for t in keep], ("open", "high", "low", "close", "volume")
        )

    def funding(self, symbol: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Funding prints in ``[start_ms, end_ms)``, times floored to the hour (store layout)."""
        coin = self._coin(symbol)
        rates: dict[int, float] = {}
        cursor = start_ms
        while cursor < end_ms:
            reply = _list(
                self._call(
                    f"funding_history({coin})", self.info.funding_history, coin, cursor, end_ms - 1
                ),
                "fundingHistory",
            )
            if not reply:
                break
            try:
                times = [int(r["time"]) for r in reply]
                for r, t in zip(reply, times, strict=True):
                    if start_ms <= t < end_ms:
                        rates[t - t % FUNDING_GRID_MS] = float(r["fundingRate"])
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"malformed hyperliquid funding reply: {err!r}") from None
            nxt = max(times) + 1
            if nxt <= cursor:
                break  # no progress: the venue keeps answering the same page
            cursor = nxt
        keep = sorted(rates)
        return frame_from_rows(keep, [[rates[t]] for t in keep], ("funding_rate",))


def _list(reply: Any, what: str) -> list[dict[str, Any]]:
    if isinstance(reply, dict) and "error" in reply:
        raise FetchError(f"hyperliquid {what}", ValueError(str(reply["error"])), 1, False)
    if not isinstance(reply, list):
        raise ValueError(f"unexpected hyperliquid {what} reply: {str(reply)[:200]}")
    return reply
