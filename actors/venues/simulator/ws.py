"""`GET /ws`: subscriptions, pings and pushes in the shapes the SDK's WebsocketManager routes.

The SDK routes frames on fields inside `data` (coin, user, s/i), ignores subscriptionResponse and
the greeting text, and swallows pong. Engine events are drained after every request and tick and
turned into frames here; a silent-socket fault stops all output while keeping the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

from aiohttp import WSMsgType, web

from actors.venues.simulator import views
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.faults import Faults

SIM_KEY: web.AppKey[Any] = web.AppKey("sim", object)

IDLE_TIMEOUT_S = 60.0
GREETING = "Websocket connection established."


def sub_key(sub: dict[str, Any]) -> tuple[str, ...]:
    """Identity of a subscription (coins as given, users lower-cased)."""
    kind = sub.get("type")
    if kind == "allMids":
        return ("allMids",)
    if kind in ("l2Book", "trades", "bbo"):
        return (str(kind), str(sub["coin"]))
    if kind == "candle":
        return ("candle", str(sub["coin"]), str(sub["interval"]))
    if kind in ("orderUpdates", "userFills", "userEvents", "userFundings"):
        return (str(kind), str(sub["user"]).lower())
    raise ValueError(f"unsupported subscription {kind!r}")


class Client:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.subs: set[tuple[str, ...]] = set()


class WsHub:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.clients: list[Client] = []

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = Client(ws)
        self.clients.append(client)
        venue_ctx = request.app[SIM_KEY]
        try:
            if not self.faults.ws_silent:
                await ws.send_str(GREETING)
            while True:
                try:
                    msg = await ws.receive(timeout=IDLE_TIMEOUT_S)
                except TimeoutError:
                    break  # the venue drops clients silent for 60 s
                if msg.type != WSMsgType.TEXT:
                    break
                await self._on_text(client, msg.data, venue_ctx)
        finally:
            if client in self.clients:
                self.clients.remove(client)
            await ws.close()
        return ws

    async def _on_text(self, client: Client, text: str, ctx: Any) -> None:
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            return
        method = msg.get("method")
        if method == "ping":
            await self._send(client, {"channel": "pong"})
            return
        if method not in ("subscribe", "unsubscribe"):
            return
        sub = msg.get("subscription", {})
        try:
            key = sub_key(sub)
        except (ValueError, KeyError):
            await self._send(
                client, {"channel": "error", "data": f"Invalid subscription {json.dumps(sub)}"}
            )
            return
        if method == "unsubscribe":
            client.subs.discard(key)
            await self._send(client, {"channel": "subscriptionResponse", "data": msg})
            return
        client.subs.add(key)
        await self._send(client, {"channel": "subscriptionResponse", "data": msg})
        for frame in ctx.snapshot_frames(key):
            if key[0] == "candle" and self.faults.ws_garbled:
                frame = garbled_candle(frame)
            await self._send(client, frame)

    async def _send(self, client: Client, frame: Any) -> None:
        if self.faults.ws_silent or client.ws.closed:
            return
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await client.ws.send_str(json.dumps(frame))

    async def publish(self, frames: list[tuple[tuple[str, ...], Any]]) -> None:
        for key, frame in frames:
            if key[0] == "candle" and self.faults.ws_garbled:
                frame = garbled_candle(frame)
            for client in list(self.clients):
                if key in client.subs:
                    await self._send(client, frame)

    async def send_raw(self, texts: list[str]) -> None:
        """Send raw text frames (garbage on purpose) to every socket."""
        for client in list(self.clients):
            for text in texts:
                if not client.ws.closed:
                    with contextlib.suppress(ConnectionResetError, RuntimeError):
                        await client.ws.send_str(text)

    async def drop_all(self) -> None:
        """Close every socket at once (one slow peer must not delay the others)."""
        await asyncio.gather(*(c.ws.close() for c in list(self.clients)), return_exceptions=True)


def garbled_candle(frame: dict[str, Any]) -> dict[str, Any]:
    """The same candle push with its prices unreadable (routed like the real one)."""
    data = dict(frame["data"])
    data.update(o="garbage", c=None)
    return {**frame, "data": data}


def event_frames(
    v: Venue, events: list[tuple[str, str, Any]], wanted: set[tuple[str, ...]] | None = None
) -> list[tuple[tuple[str, ...], Any]]:
    """Turn engine events into (subscription key, frame) pairs, batching per user. With
    ``wanted`` (the keys some socket subscribes to), books and mids nobody follows are not
    built: an l2 book walks every order, under the simulator's lock."""
    updates: dict[str, list[Any]] = defaultdict(list)
    fills: dict[str, list[Any]] = defaultdict(list)
    trades: dict[str, list[Any]] = defaultdict(list)
    books: set[str] = set()
    moved: set[str] = set()
    out: list[tuple[tuple[str, ...], Any]] = []
    for kind, key, data in events:
        if kind == "orderUpdates":
            updates[key].append(data)
        elif kind == "userFills":
            fills[key].append(data)
        elif kind == "trades":
            trades[key].append(data)
        elif kind == "l2Book":
            books.add(key)
        elif kind == "market":
            moved.add(key)
            books.add(key)
        elif kind == "user":
            out.append((("userEvents", key), {"channel": "user", "data": data}))
    for user, ups in updates.items():
        out.append((("orderUpdates", user), {"channel": "orderUpdates", "data": ups}))
    for user, fl in fills.items():
        out.append(
            (
                ("userFills", user),
                {"channel": "userFills", "data": {"user": user, "isSnapshot": False, "fills": fl}},
            )
        )
        out.append((("userEvents", user), {"channel": "user", "data": {"fills": fl}}))
    for coin, tr in trades.items():
        out.append((("trades", coin), {"channel": "trades", "data": tr}))
    for coin in books:
        if wanted is not None and ("l2Book", coin) not in wanted and ("bbo", coin) not in wanted:
            continue
        book = views.l2_book(v, coin)
        out.append((("l2Book", coin), {"channel": "l2Book", "data": book}))
        top = [side[0] if side else None for side in book["levels"]]
        bbo = {"coin": coin, "time": book["time"], "bbo": top}
        out.append((("bbo", coin), {"channel": "bbo", "data": bbo}))
    if moved and (wanted is None or ("allMids",) in wanted):
        out.append((("allMids",), {"channel": "allMids", "data": {"mids": views.all_mids(v)}}))
    return out


def candle_frames(
    v: Venue, coin: str, intervals: set[str], since: dict[tuple[str, str], int] | None = None
) -> list[tuple[tuple[str, ...], Any]]:
    """Candle pushes for `coin`: every bucket from the one last pushed (`since`, updated here)
    to the open one, oldest first, so a clock step that closes several bars still delivers
    each closed candle in its final form before the next one starts. Without `since` (a new
    subscription's snapshot) only the latest candle."""
    out: list[tuple[tuple[str, ...], Any]] = []
    for interval in sorted(intervals):
        last = since.get((coin, interval)) if since is not None else None
        rows = views.candles(v, coin, interval, v.now - 1 if last is None else last, v.now)
        if last is None:
            rows = rows[-1:]
        for row in rows:
            out.append((("candle", coin, interval), {"channel": "candle", "data": row}))
        if rows and since is not None:
            since[(coin, interval)] = int(rows[-1]["t"])
    return out
