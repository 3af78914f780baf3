"""The venue core: markets, accounts, orders, fills, cancels and modifies (no I/O).

Why one class holds the state: every request and every clock tick reads and mutates the same
books, positions and order index, and the server serialises access with one lock. Market
movement (bars, funding, triggers, liquidation) lives in ticks.py, order entry in placement.py,
reply shapes in views.py.
Events for the websocket are appended to `events` and drained by the server.
"""

from __future__ import annotations

from typing import Any

from actors.venues.simulator import accounts as acc
from actors.venues.simulator import errors
from actors.venues.simulator.actions import OrderSpec
from actors.venues.simulator.market import Market
from actors.venues.simulator.matching import ExternalBook, aggregate, opposite_levels
from actors.venues.simulator.nonces import NonceBook
from actors.venues.simulator.orders import OPEN, WAITING_FOR_FILL, Order
from actors.venues.simulator.placement import REJECT_STATUS, OrderEntry, OrderRejected

__all__ = ["COIN_META", "OrderRejected", "Venue"]

# (szDecimals, maxLeverage) of the shipped coins, as the venue lists them
COIN_META = {
    "BTC": (5, 40),
    "ETH": (4, 25),
    "SOL": (2, 20),
    "HYPE": (2, 10),
    "XRP": (0, 20),
    "DOGE": (0, 10),
    "SUI": (1, 10),
    "AVAX": (2, 10),
    "LINK": (1, 10),
    "ADA": (0, 10),
    "BNB": (3, 10),
    "LTC": (2, 10),
}


class Venue(OrderEntry):
    def __init__(
        self,
        market: Market | None,
        coins: list[str],
        now_ms: int,
        balances: dict[str, float] | None = None,
        coin_meta: dict[str, tuple[int, int]] | None = None,
        book_level_usd: float = 250_000.0,
    ) -> None:
        meta = {**COIN_META, **(coin_meta or {})}
        unknown = [c for c in coins if c not in meta]
        if unknown:
            raise ValueError(f"no szDecimals/maxLeverage known for {unknown}; pass coin_meta")
        self.market = market
        self.coins = list(coins)
        self.asset_of = {c: i for i, c in enumerate(self.coins)}
        self.sz_decimals = {c: meta[c][0] for c in coins}
        self.max_lev = {c: meta[c][1] for c in coins}
        self.books = {c: ExternalBook(self.sz_decimals[c], level_usd=book_level_usd) for c in coins}
        self.now = int(now_ms)
        self.marks: dict[str, float] = {}
        for c in coins:
            if market is not None and c in market.coins:
                self.marks[c] = market.price(c, self.now)
                self.books[c].reprice(self.marks[c])
        self.accounts: dict[str, acc.Account] = {}
        for addr, usdc in (balances or {}).items():
            self.add_account(addr, usdc)
        self.agents: dict[str, dict[str, Any]] = {}
        self.orders: dict[int, Order] = {}
        self.cloids: dict[tuple[str, str], int] = {}
        self.fills: dict[str, list[dict[str, Any]]] = {}
        self.fundings: dict[str, list[dict[str, Any]]] = {}
        self.trades: dict[str, list[dict[str, Any]]] = {c: [] for c in coins}
        self.scheduled_cancel: dict[str, int] = {}
        self.nonces = NonceBook()
        self.next_oid = 1_000_000
        self.next_tid = 1
        self.events: list[tuple[str, str, Any]] = []
        # fault hooks (set through faults.py)
        self.partial_fill_fraction: float | None = None
        self.reject_next: list[str] = []
        self.batch_error_next: list[str] = []

    # ----- accounts -------------------------------------------------------------------------
    def add_account(self, address: str, usdc: float) -> None:
        addr = address.lower()
        if not (addr.startswith("0x") and len(addr) == 42):
            raise ValueError(f"account address must be 0x + 40 hex digits, got {address!r}")
        if usdc < 0:
            raise ValueError(f"account balance must be >= 0, got {usdc}")
        self.accounts[addr] = acc.Account(addr, float(usdc))

    def master_of(self, signer: str) -> str | None:
        s = signer.lower()
        if s in self.accounts:
            return s
        agent = self.agents.get(s)
        if agent and (agent["validUntil"] is None or agent["validUntil"] > self.now):
            return str(agent["master"])
        return None

    def approve_agent(self, master: str, agent: str, name: str) -> None:
        """Unnamed approvals replace each other; named ones add up (as on the venue)."""
        if name == "":
            for k in [
                k for k, v in self.agents.items() if v["master"] == master and v["name"] == ""
            ]:
                del self.agents[k]
        self.agents[agent.lower()] = {"master": master, "name": name, "validUntil": None}

    def mark(self, coin: str) -> float:
        m = self.marks.get(coin)
        if m is None:
            raise OrderRejected(errors.NO_LIQUIDITY)
        return m

    # ----- cancel / modify / leverage / scheduleCancel --------------------------------------
    def cancel(self, user: str, asset: Any, oid: Any) -> Any:
        o = self.orders.get(oid) if isinstance(oid, int) else None
        return self._cancel_one(user, asset, o)

    def cancel_by_cloid(self, user: str, asset: Any, cloid: Any) -> Any:
        oid = self.cloids.get((user, str(cloid).lower())) if isinstance(cloid, str) else None
        return self._cancel_one(user, asset, self.orders.get(oid) if oid is not None else None)

    def _cancel_one(self, user: str, asset: Any, o: Order | None) -> Any:
        live = (OPEN, WAITING_FOR_FILL)
        if o is None or o.user != user or o.asset != asset or o.status not in live:
            return {
                "error": errors.with_asset(
                    errors.MISSING_ORDER, asset if isinstance(asset, int) else -1
                )
            }
        self._set_status(o, "canceled")
        for child_oid in o.children:
            child = self.orders[child_oid]
            if child.status == WAITING_FOR_FILL:
                self._set_status(child, "canceled")
        return "success"

    def modify(self, user: str, oid: int | str, spec: OrderSpec) -> Any:
        """Cancel-and-replace under a new oid. A replacement that fails validation leaves the
        old order untouched; one that fails later (margin, IOC, ALO) leaves it canceled."""
        if isinstance(oid, str):
            key = self.cloids.get((user, oid.lower()))
            old = self.orders.get(key) if key is not None else None
        else:
            old = self.orders.get(oid)
        asset = spec.asset
        if old is None or old.user != user or old.status != OPEN:
            return {"error": errors.with_asset(errors.MISSING_ORDER, asset)}
        try:
            new = self._new_order(user, spec, new_cloid=False)  # a modify may keep its cloid
        except OrderRejected as rej:
            return {"error": errors.with_asset(rej.msg, asset)}
        self._set_status(old, "canceled")
        try:
            return self._submit(new)
        except OrderRejected as rej:
            return {"error": errors.with_asset(rej.msg, asset)}

    def update_leverage(self, user: str, asset: Any, is_cross: bool, leverage: Any) -> str | None:
        if not isinstance(asset, int) or not 0 <= asset < len(self.coins):
            return errors.UNKNOWN_ASSET.format(asset=asset)
        coin = self.coins[asset]
        if not isinstance(leverage, int) or not 1 <= leverage <= self.max_lev[coin]:
            return errors.INVALID_LEVERAGE
        a = self.accounts[user]
        old = a.leverage.get(coin)
        kind = "cross" if is_cross else "isolated"
        if coin in a.positions and a.lev(coin, self.max_lev[coin])[0] != kind:
            return errors.SWITCH_MARGIN_MODE
        a.leverage[coin] = (kind, leverage)
        used = acc.margin_used(a, self.marks, self.max_lev, cross_only=True)
        if used > acc.cross_value(a, self.marks):
            if old is None:
                a.leverage.pop(coin)
            else:
                a.leverage[coin] = old
            return errors.INSUFFICIENT_MARGIN
        return None

    def update_isolated_margin(self, user: str, asset: Any, ntli: Any) -> str | None:
        """Move USDC (ntli = amount * 1e6) between cross and an isolated position."""
        if not isinstance(asset, int) or not 0 <= asset < len(self.coins):
            return errors.UNKNOWN_ASSET.format(asset=asset)
        if not isinstance(ntli, int):
            return errors.INVALID_LEVERAGE
        coin, a = self.coins[asset], self.accounts[user]
        pos = a.positions.get(coin)
        if pos is None or not a.isolated(coin):
            return errors.NO_ISOLATED_POSITION
        amount = ntli / 1e6
        lev = a.lev(coin, self.max_lev[coin])[1]
        if amount > 0:
            free = acc.cross_value(a, self.marks) - acc.margin_used(
                a, self.marks, self.max_lev, True
            )
            if amount > free - self.open_order_margin(user):
                return errors.INSUFFICIENT_MARGIN
        else:
            equity = pos.iso_margin + amount + acc.unrealized(pos, self.marks[coin])
            if equity < abs(pos.szi) * self.marks[coin] / lev:
                return errors.INSUFFICIENT_MARGIN
        pos.iso_margin += amount
        return None

    def schedule_cancel(self, user: str, when: int | None) -> str | None:
        if when is None:
            self.scheduled_cancel.pop(user, None)
            return None
        if when < self.now + 5_000:
            return errors.SCHEDULE_CANCEL_TOO_EARLY
        self.scheduled_cancel[user] = when
        return None

    def cancel_all(self, user: str) -> None:
        for o in self.open_orders_of(user):
            self._set_status(o, "scheduledCancel")

    # ----- bookkeeping ----------------------------------------------------------------------
    def _new_oid(self) -> int:
        oid = self.next_oid
        self.next_oid += 1
        return oid

    def _ids(self, o: Order) -> dict[str, Any]:
        return {"oid": o.oid, "cloid": o.cloid} if o.cloid is not None else {"oid": o.oid}

    def _store(self, o: Order) -> None:
        self.orders[o.oid] = o
        if o.cloid is not None:
            self.cloids[(o.user, o.cloid.lower())] = o.oid

    def _record_rejection(self, o: Order, msg: str) -> None:
        """Rejected orders keep their oid and status so a lookup by cloid tells the truth."""
        if o.oid in self.orders:
            return
        o.status, o.status_ts = REJECT_STATUS.get(msg, "rejected"), self.now
        self._store(o)
        self._emit_update(o)

    def _set_status(self, o: Order, status: str) -> None:
        o.status, o.status_ts = status, self.now
        self._emit_update(o)
        self.events.append(("l2Book", o.coin, None))

    def _emit_update(self, o: Order) -> None:
        update = {"order": o.basic_wire(), "status": o.status, "statusTimestamp": o.status_ts}
        self.events.append(("orderUpdates", o.user, update))

    def open_orders_of(self, user: str | None, coin: str | None = None) -> list[Order]:
        return [
            o
            for o in self.orders.values()
            if o.status == OPEN
            and (user is None or o.user == user)
            and (coin is None or o.coin == coin)
        ]

    def l2_levels(self, coin: str) -> tuple[list[dict], list[dict]]:
        book = self.books[coin]
        resting = self.open_orders_of(None, coin)
        bids = opposite_levels(book, resting, taker_is_buy=False)
        asks = opposite_levels(book, resting, taker_is_buy=True)
        return aggregate(bids), aggregate(asks)
