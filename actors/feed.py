"""DataFeed actor: closed bars of every symbol, in order, each once (one feed per venue).

Why REST for every closed bar: the websocket pushes the *forming* candle again and again, so its
last push before a bucket closes may miss the final trades. The push only tells the feed that a
bucket closed; the closed bars themselves come from the venue's candle snapshot (the same path
that back-fills a gap), so a bar published live equals the bar back-filled after an outage.

* Start: back-fill ``warmup_bars`` closed bars per symbol (kept for the runners' warm-up, so a
  signal can come from the first live bar), then subscribe to candles per symbol.
* Watchdog: a stream silent for ``silence_s`` wall seconds is closed and re-subscribed, and the
  missed bars are back-filled over REST before anything newer is published.
* Staleness (failure_modes F9): a bar is published ``backfilled=True`` (never traded on) unless
  it is the newest closed bar and its successor has not closed yet by the venue's clock.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from concurrent import futures
from typing import Any

from pydantic import ValidationError

from actors.messages import Bar, Event, Level
from actors.venues.base import Candle, Subscription, VenueError
from actors.venues.factory import VenueSpec, make_venue

log = logging.getLogger(__name__)
TF_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
         "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "8h": 28_800_000,
         "12h": 43_200_000, "1d": 86_400_000}  # fmt: skip


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


REPUBLISH_BARS = 2


def _reconstructed() -> bool:
    """Whether Ray is rerunning this actor's constructor after a crash (False outside Ray)."""
    try:
        import ray

        return bool(ray.get_runtime_context().was_current_actor_reconstructed)
    except Exception:
        return False


def feed_source(venue: str, symbol: str, timeframe: str) -> str:
    return f"feed:{venue}:{symbol}:{timeframe}"


class DataFeed:
    """Threaded actor: a worker thread publishes; ``history`` answers runners concurrently."""

    def __init__(
        self,
        spec: VenueSpec,
        symbols: list[str],
        timeframe: str,
        warmup_bars: int,
        runners: dict[str, Any],
        alerter: Any | None = None,
        silence_s: float = 30.0,
        poll_s: float = 0.05,
        executor: Any | None = None,
    ) -> None:
        self.venue = make_venue(spec)
        self.executor = executor  # told of each bar close (Executor.bar_closed)
        self._announced = -1  # the newest close announced
        self.symbols = list(symbols)
        self.timeframe = timeframe
        self.tf = TF_MS[timeframe]
        self.runners = runners
        self.alerter = alerter
        self.silence_s = silence_s
        self.poll_s = poll_s
        self.history: dict[str, deque[Bar]] = {s: deque(maxlen=warmup_bars) for s in symbols}
        self.last_closed: dict[str, int] = {}
        self.published = 0
        self._lock = threading.RLock()
        self._seq = time.time_ns() // 1000
        self._pushes: queue.Queue[tuple[str, Candle]] = queue.Queue()
        self._subs: dict[str, Subscription] = {}
        self._last_push: dict[str, float] = {}
        self._push_wall: dict[str, int] = {}  # wall ms of the last candle pushed (health)
        self._subscribed_ms: dict[str, int] = {}  # wall ms of the last (re)subscription
        self._reconnects: dict[str, int] = {}
        self._venue_now: int | None = None  # the venue clock at the last tick
        self._stop = threading.Event()
        self._outbox: dict[Any, list[Bar]] = {}  # runner actor -> bars to send (_flush)
        self._reader = futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="feed-read")
        now = self.venue.now_ms()
        # a restarted feed (Ray reran this constructor) re-publishes the newest bars: one that
        # closed while it was down would otherwise be swallowed by the warm-up and its signal
        # lost; the runners drop bars they already hold, and only the newest can be fresh (F12)
        tail = REPUBLISH_BARS if _reconstructed() else 0
        for s in self.symbols:
            end = now // self.tf * self.tf
            self._fetch_and_publish(s, end - warmup_bars * self.tf, now - tail * self.tf,
                                    warmup=True)  # fmt: skip
            if tail:
                after = self.last_closed.get(s, end - (tail + 1) * self.tf)
                self._fetch_and_publish(s, after + self.tf, now)
            self._subscribe(s)
        self._flush()
        self._thread = threading.Thread(target=self._run, name="feed", daemon=True)
        self._thread.start()

    # ----- queries ------------------------------------------------------------------------------
    def history_bars(self, symbol: str, after_ms: int | None, before_ms: int) -> list[Bar]:
        """Closed bars of ``symbol`` with ``after_ms < time_ms < before_ms`` (warm-up, gaps)."""
        with self._lock:
            return [b for b in self.history[symbol]
                    if (after_ms is None or b.time_ms > after_ms) and b.time_ms < before_ms]  # fmt: skip

    def ohlc_since(
        self, after_ms: dict[str, int]
    ) -> dict[str, list[tuple[int, float, float, float]]]:
        """``(time_ms, high, low, close)`` of the kept closed bars newer than ``after_ms[symbol]``
        (every kept bar of a symbol not named): PortfolioRisk's incremental market view."""
        with self._lock:
            return {s: [(b.time_ms, b.high, b.low, b.close) for b in h
                        if b.time_ms > after_ms.get(s, -1)] for s, h in self.history.items()}  # fmt: skip

    def stats(self) -> dict[str, Any]:
        return {"published": self.published, "last_closed": dict(self.last_closed)}

    def health(self) -> dict[str, Any]:
        """Liveness probe with what the dashboard shows of the feed: per symbol the open time
        of the last closed bar and the websocket state — ``connected``, ``reconnecting`` (re-
        subscribed by the watchdog, no message since), ``silent`` (no message for
        ``silence_s``: the watchdog reconnects on its next tick) or ``down``."""
        with self._lock:
            last = dict(self.last_closed)
        return {"time_ms": _wall_ms(), "venue_ms": self._venue_now, "last_bar_ms": last,
                "silence_s": self.silence_s,
                "streams": {s: self._stream_state(s) for s in self.symbols}}  # fmt: skip

    def _stream_state(self, symbol: str) -> dict[str, Any]:
        sub = self._subs.get(symbol)
        last = (getattr(sub, "last_message_ms", None) if hasattr(sub, "last_message_ms")
                else self._push_wall.get(symbol))  # fmt: skip
        alive = getattr(sub, "is_alive", None)
        n = self._reconnects.get(symbol, 0)
        if sub is None or (callable(alive) and not alive()):
            state = "down"
        elif self._silent(symbol):
            state = "silent"
        elif n and (last is None or last < self._subscribed_ms.get(symbol, 0)):
            state = "reconnecting"
        else:
            state = "connected"
        return {"state": state, "last_message_ms": last, "reconnects": n,
                "subscribed_ms": self._subscribed_ms.get(symbol)}  # fmt: skip

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._reader.shutdown(wait=True, cancel_futures=True)
        for sub in self._subs.values():
            sub.close()
        self.venue.close()

    # ----- internals ----------------------------------------------------------------------------
    def _subscribe(self, symbol: str) -> None:
        old = self._subs.pop(symbol, None)
        if old is not None:
            old.close()

        def on_candle(c: Candle, s: str = symbol) -> None:
            self._pushes.put((s, c))

        self._subs[symbol] = self.venue.subscribe_candles(symbol, self.timeframe, on_candle)
        self._last_push[symbol] = time.monotonic()
        if symbol in self._subscribed_ms:
            self._reconnects[symbol] = self._reconnects.get(symbol, 0) + 1
        self._subscribed_ms[symbol] = _wall_ms()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                symbol, _ = self._pushes.get(timeout=self.poll_s)
                self._last_push[symbol] = time.monotonic()
                self._push_wall[symbol] = _wall_ms()
            except queue.Empty:
                pass
            try:
                self._tick()
            except Exception as exc:  # a venue hiccup must not kill the feed: retry next loop
                self._event(Level.WARNING, "feed_error", f"feed loop: {exc}")

    def _tick(self) -> None:
        now = self.venue.now_ms()
        self._venue_now = now
        due: list[tuple[str, int]] = []
        for s in self.symbols:
            if self._silent(s):
                self._event(Level.WARNING, "stream_silent",
                            f"{s} {self.timeframe} stream silent for {self.silence_s:g} s: "
                            "reconnecting and back-filling")  # fmt: skip
                self._subscribe(s)
            last = self.last_closed.get(s)
            if last is None or now >= last + 2 * self.tf:  # the next bucket has closed
                due.append((s, now // self.tf * self.tf - self.tf if last is None
                            else last + self.tf))  # fmt: skip
        try:
            fetched = self._fetch_all(due, now)
            for (s, _), candles in zip(due, fetched, strict=True):
                self._publish_new(s, candles, now)
        finally:
            self._flush()  # whatever was published (marked as such) goes out

    def _fetch_all(self, due: list[tuple[str, int]], now: int) -> list[list[Candle] | None]:
        """The closed candles of every due symbol; at once on a venue whose reads may run
        concurrently (a bar close of 12 symbols then costs about one round trip, not 12, before
        the close is published as one message per runner actor)."""
        if len(due) > 1 and getattr(self.venue, "concurrent_reads", False):
            return list(self._reader.map(lambda d: self._fetch(d[0], d[1], now), due))
        return [self._fetch(s, start, now) for s, start in due]

    def _silent(self, symbol: str) -> bool:
        """The websocket itself is silent (the stream's own age when it reports one: its closing
        timer keeps delivering closed bars over REST while the socket is dead) or has died."""
        sub = self._subs.get(symbol)
        age = getattr(sub, "age_s", None)
        alive = getattr(sub, "is_alive", None)
        if callable(alive) and not alive():
            return True
        if callable(age):
            return bool(age() > self.silence_s)
        return time.monotonic() - self._last_push.get(symbol, 0.0) > self.silence_s

    def _fetch_and_publish(self, symbol: str, start: int, now: int, warmup: bool = False) -> None:
        self._publish_new(symbol, self._fetch(symbol, start, now), now, warmup)

    def _fetch(self, symbol: str, start: int, now: int) -> list[Candle] | None:
        """Candles of the buckets from ``start`` that have closed by ``now`` (None: the read
        failed, reported; the next tick tries again)."""
        end = now // self.tf * self.tf  # buckets opening before `end` have closed by `now`
        if end <= start:
            return []
        try:
            return list(self.venue.candles(symbol, self.timeframe, start, end))
        except VenueError as exc:
            self._event(Level.WARNING, "backfill_failed", f"{symbol} candles: {exc}")
            return None

    def _publish_new(
        self, symbol: str, candles: list[Candle] | None, now: int, warmup: bool = False
    ) -> None:
        newest = now // self.tf * self.tf - self.tf
        for c in candles or []:
            if c.time_ms <= self.last_closed.get(symbol, -1):
                continue  # published already: each bar once
            fresh = (not warmup and c.time_ms == newest
                     and self.venue.now_ms() < c.time_ms + 2 * self.tf)  # fmt: skip
            self._publish(symbol, c, backfilled=not fresh, warmup=warmup)

    def _publish(self, symbol: str, c: Candle, backfilled: bool, warmup: bool) -> None:
        try:
            bar = Bar(
                source=feed_source(self.venue.name, symbol, self.timeframe),
                seq=c.time_ms // self.tf, venue=self.venue.name, symbol=symbol,
                timeframe=self.timeframe, time_ms=c.time_ms, open=c.open, high=c.high, low=c.low,
                close=c.close, volume=c.volume, backfilled=backfilled,
            )  # fmt: skip
        except ValidationError as exc:
            self._event(Level.WARNING, "bad_bar",
                        f"{symbol} bar {c.time_ms} skipped: {exc.errors()[0]['msg']}")  # fmt: skip
            self.last_closed[symbol] = c.time_ms
            return
        with self._lock:
            self.history[symbol].append(bar)
            self.last_closed[symbol] = c.time_ms
        if not warmup and symbol in self.runners:
            self._outbox.setdefault(self.runners[symbol], []).append(bar)
            self.published += 1
            if not backfilled:
                self._announce(c.time_ms + self.tf)

    def _flush(self) -> None:
        """Send what :meth:`_publish` queued: one message per runner actor (a RunnerGroup
        takes a whole bar close at once), each actor's bars in publication order."""
        outbox, self._outbox = self._outbox, {}
        for runner, bars in outbox.items():
            runner.on_bars.remote(bars)

    def _announce(self, close_ms: int) -> None:
        """Tell the Executor a bar closed (once per close, as the first symbol's bar is
        published, before the runners get it): it reads the account while the StrategyRunners work, so a signal on this close
        does not wait for those venue calls in PortfolioRisk (issue #15's latency)."""
        with self._lock:
            if self.executor is None or close_ms <= self._announced:
                return
            self._announced = close_ms
        self.executor.bar_closed.remote(close_ms)

    def _event(self, level: Level, kind: str, text: str) -> None:
        log.log(logging.WARNING if level != Level.INFO else logging.INFO, "%s", text)
        if self.alerter is None:
            return
        with self._lock:  # the candle reads may fail on several reader threads at once
            self._seq += 1
            seq = self._seq
        self.alerter.send.remote(Event(source="feed", seq=seq, level=level, kind=kind,
                                       text=text))  # fmt: skip
