"""Reconciliation: journal vs venue, as a pure function (F4, F5, F6, F17).

The venue is the truth for positions, open orders and fills; the journal supplies intents.
:func:`reconcile` compares the two and returns a :class:`ReconciliationReport`: every
difference, and the journal writes that make the journal agree with the venue (missing fills,
synthetic adjustment fills, terminal order updates). Actions on the venue (place a stop,
cancel an orphan) are named in the differences; the caller performs them.

Idempotence (F6): synthesised records get deterministic ids derived from the facts that caused
them (symbol, sizes, the journal's last trade id on that symbol), so the same input always
yields the same ids, and once the report is applied a second run finds nothing new.

Fail closed: ``clean`` is True only when no difference is blocking (the only non-blocking one
is a reduce-only venue order the journal does not know: it cannot add risk, it is reported).
A journaled order that is absent on the venue and not explained by fills stays blocking until
the caller looks it up by cloid (``lookups``) — absence is never read as "rejected".

Use: reconcile, :meth:`Journal.apply_reconciliation`, perform the venue actions (protect),
reconcile again: the second report is the one that says whether entries may resume.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from actors.messages import Fill, OrderIntent, OrderUpdate
from actors.state.ledger import SIZE_EPS, JournalPosition
from actors.venues.base import VenueFill, VenueOrder, VenuePosition

SOURCE = "reconcile"
DiffKind = Literal[
    "missing_fill",  # venue fill the journal lacks -> recorded
    "position_mismatch",  # sizes differ after missing fills -> adjustment fill at venue's entry
    "adopt_position",  # venue position the journal does not know -> adopted, protect it
    "mark_closed",  # journal position the venue no longer has -> closing fill
    "orphan_order",  # venue open order without a journaled intent -> operator decides
    "order_resolved",  # journaled open order absent on venue, resolved by fills or lookup
    "order_unresolved",  # journaled open order absent on venue, not explained: look it up
    "unprotected_position",  # no resting reduce-only stop covering the position -> protect
]
POSITION_KINDS = frozenset({"position_mismatch", "adopt_position", "mark_closed"})
Action = Literal[
    "record", "adopt", "mark_closed", "confirm", "operator", "lookup", "protect", "none"
]
# kinds that leave the venue and the journal consistent once the report's writes are applied
SELF_HEALING: frozenset[str] = frozenset(
    {"missing_fill", "position_mismatch", "adopt_position", "mark_closed", "order_resolved"}
)
Terminal = Literal["filled", "canceled", "rejected"]
_TERMINAL_OF: dict[str, Terminal] = {
    "filled": "filled", "canceled": "canceled", "rejected": "rejected", "expired": "canceled"
}  # fmt: skip
TERMINAL_VENUE = frozenset(_TERMINAL_OF)


def stable_id(*parts: object) -> str:
    """Deterministic short id of some facts (identical across runs and processes)."""
    raw = "|".join(repr(p) for p in parts).encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def _seq_of(ident: str) -> int:
    # synthetic messages need a (source, seq); derive seq from the id so retries dedupe too
    return int(hashlib.sha256(ident.encode()).hexdigest()[:15], 16)


class Difference(BaseModel):
    """One disagreement between journal and venue, with the action that settles it."""

    model_config = ConfigDict(frozen=True)

    diff_id: str
    kind: DiffKind
    action: Action
    symbol: str
    detail: str
    cloid: str | None = None
    venue_order_id: str | None = None
    journal_size: float | None = None
    venue_size: float | None = None
    stop_price: float | None = None  # for "protect": the journal's planned stop, if any
    blocking: bool = True  # False only for what cannot add risk (a reduce-only orphan order)


class ReconciliationReport(BaseModel):
    """The outcome of one reconciliation pass."""

    model_config = ConfigDict(frozen=True)

    report_id: str  # deterministic: hash of the difference ids
    time_ms: int
    clean: bool  # no blocking difference: new entries may go ahead
    differences: list[Difference] = Field(default_factory=list)
    fills: list[Fill] = Field(default_factory=list)  # to journal (real missing + synthetic)
    order_updates: list[OrderUpdate] = Field(default_factory=list)  # terminal resolutions
    blocked_symbols: list[str] = Field(default_factory=list)  # symbols with blocking diffs


def cloids_to_look_up(
    journal_open_orders: Sequence[OrderIntent], venue_open_orders: Sequence[VenueOrder]
) -> list[OrderIntent]:
    """Journaled open orders the venue does not list as open: look each up by cloid and pass
    the answers to :func:`reconcile` as ``lookups``."""
    open_cloids = {o.cloid for o in venue_open_orders if o.cloid}
    return [i for i in journal_open_orders if i.cloid not in open_cloids]


def _to_fill(vf: VenueFill) -> Fill:
    return Fill(
        source=SOURCE, seq=_seq_of(stable_id("fill", vf.trade_id)), trade_id=vf.trade_id,
        cloid=vf.cloid, venue_order_id=vf.venue_order_id, symbol=vf.symbol, side=vf.side,
        size=vf.size, price=vf.price, fee=vf.fee, closed_pnl=vf.closed_pnl, time_ms=vf.time_ms,
    )  # fmt: skip


def _synthetic_fill(trade_id: str, symbol: str, delta: float, price: float, t: int) -> Fill:
    return Fill(
        source=SOURCE, seq=_seq_of(trade_id), trade_id=trade_id, cloid=None, venue_order_id=None,
        symbol=symbol, side="buy" if delta > 0 else "sell", size=abs(delta), price=price,
        time_ms=t,
    )  # fmt: skip


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= SIZE_EPS * max(1.0, abs(a), abs(b))


def _vwap(fills: Sequence[Fill], symbol: str) -> float:
    """Volume-weighted price of some fills of a symbol (0.0 when there are none)."""
    qty = sum(f.size for f in fills if f.symbol == symbol)
    return sum(f.size * f.price for f in fills if f.symbol == symbol) / qty if qty else 0.0


def _positions_after(
    journal_positions: Mapping[str, JournalPosition], new_fills: Sequence[Fill]
) -> dict[str, float]:
    """Journal sizes once the venue's missing fills are applied (sizes only: order-free)."""
    sizes = {s: p.size for s, p in journal_positions.items()}
    for f in new_fills:
        sizes[f.symbol] = sizes.get(f.symbol, 0.0) + (f.size if f.side == "buy" else -f.size)
    return sizes


def reconcile(
    journal_positions: Mapping[str, JournalPosition],
    journal_open_orders: Sequence[OrderIntent],
    venue_positions: Sequence[VenuePosition],
    venue_open_orders: Sequence[VenueOrder],
    venue_fills: Sequence[VenueFill],
    *,
    known_trade_ids: Collection[str] = (),
    lookups: Mapping[str, VenueOrder | None] | None = None,
    time_ms: int = 0,
    previous: ReconciliationReport | None = None,
) -> ReconciliationReport:
    """Compare the journal's view with a venue snapshot (see the module docstring).

    ``known_trade_ids``: trade ids already journaled (venue fills among them are not new).
    ``lookups``: ``order_by_cloid`` answers for :func:`cloids_to_look_up`'s intents
    (``None`` = the venue never accepted that cloid).
    ``time_ms``: the venue clock, stamped on synthetic records and the report.
    ``previous``: the last report, for passes while trading. A position difference is then
    settled (synthetic fill) only when ``previous`` showed the same gap (venue - journal) on
    that symbol (new fills in between do not reset it); until
    then it is reported with action ``"confirm"`` and blocks the symbol. Why: the venue's
    positions and fills are separate requests, and a fill landing between them looks like a
    size difference for one pass — settling it at once would book a phantom adjustment.
    Leave it ``None`` at start-up (nothing trades yet: adopt at once).
    """
    # position gaps (venue - journal) the previous pass saw, per symbol
    confirmed: dict[str, list[float]] | None = None
    if previous is not None:
        confirmed = {}
        for d in previous.differences:
            if d.kind in POSITION_KINDS and d.venue_size is not None and d.journal_size is not None:
                confirmed.setdefault(d.symbol, []).append(d.venue_size - d.journal_size)
    known = set(known_trade_ids)
    diffs: list[Difference] = []
    fills: list[Fill] = []
    updates: list[OrderUpdate] = []

    new = sorted({f.trade_id: f for f in venue_fills if f.trade_id not in known}.values(),
                 key=lambda f: (f.time_ms, f.trade_id))  # fmt: skip
    for vf in new:
        fills.append(_to_fill(vf))
        diffs.append(Difference(
            diff_id=stable_id("missing_fill", vf.trade_id), kind="missing_fill", action="record",
            symbol=vf.symbol, cloid=vf.cloid, venue_order_id=vf.venue_order_id,
            detail=f"venue fill {vf.trade_id} ({vf.side} {vf.size} @ {vf.price}) not journaled",
        ))  # fmt: skip

    # positions: sizes after the missing fills vs the venue's signed sizes
    expected = _positions_after(journal_positions, fills)
    venue_by_symbol = {p.symbol: p for p in venue_positions if abs(p.size) > SIZE_EPS}
    kind: DiffKind
    action: Action
    for sym in sorted(set(expected) | set(venue_by_symbol)):
        j = expected.get(sym, 0.0)
        v = venue_by_symbol[sym].size if sym in venue_by_symbol else 0.0
        if _same(j, v):
            continue
        jp = journal_positions.get(sym)
        basis = jp.last_trade_id if jp else ""
        sym_fills = [f.trade_id for f in fills if f.symbol == sym]
        trade_id = "recon-" + stable_id("adjust", sym, j, v, basis, sym_fills)
        j_price = jp.entry_price if jp else _vwap(fills, sym)
        v_price = venue_by_symbol[sym].entry_price if sym in venue_by_symbol else 0.0
        legs: list[tuple[float, float]]  # (signed size, price) of the synthetic fills
        if abs(j) <= SIZE_EPS:
            kind, action, legs = "adopt_position", "adopt", [(v, v_price)]
            detail = f"venue holds {v} {sym} the journal does not know: adopted at {v_price}"
        elif abs(v) <= SIZE_EPS:
            kind, action, legs = "mark_closed", "mark_closed", [(-j, j_price)]
            detail = (f"journal holds {j} {sym}, the venue none and no fill explains it: "
                      f"marked closed at entry {j_price} (realised P&L unknown)")  # fmt: skip
        else:
            kind, action = "position_mismatch", "adopt"
            if (v > 0) != (j > 0):  # flipped: close the journal's side, open the venue's
                legs = [(-j, j_price), (v, v_price)]
            else:  # growing: the venue's entry; shrinking: realise nothing we cannot know
                legs = [(v - j, v_price if abs(v) > abs(j) else j_price)]
            detail = f"journal {j} {sym} vs venue {v}: journal adjusted to the venue"
        diff_id = stable_id(kind, trade_id)
        if any(price <= 0 for _, price in legs):  # no usable price: escalate, write nothing
            action = "operator"
        elif confirmed is not None and not any(_same(g, v - j) for g in confirmed.get(sym, [])):
            action = "confirm"
            detail += " (pending: settled if the next pass sees the same difference)"
        else:
            # stamped after every fill known on the symbol, so the canonical fill order
            # (time, trade id) applies the adjustment last
            t = max([time_ms, jp.last_fill_ms + 1 if jp else 0]
                    + [f.time_ms + 1 for f in fills if f.symbol == sym])  # fmt: skip
            for n, (delta, price) in enumerate(legs):
                fills.append(_synthetic_fill(f"{trade_id}-{n}", sym, delta, price, t))
        diffs.append(Difference(
            diff_id=diff_id, kind=kind, action=action, symbol=sym,
            journal_size=j, venue_size=v, detail=detail,
        ))  # fmt: skip

    # orders: journaled open intents vs venue open orders
    intents_by_cloid = {i.cloid: i for i in journal_open_orders}
    venue_open_by_cloid = {o.cloid: o for o in venue_open_orders if o.cloid}
    filled_by_cloid: dict[str, float] = {}
    for vf in venue_fills:
        if vf.cloid:
            filled_by_cloid[vf.cloid] = filled_by_cloid.get(vf.cloid, 0.0) + vf.size
    for o in venue_open_orders:
        if o.cloid and o.cloid in intents_by_cloid:
            continue
        reducing = o.reduce_only
        diffs.append(Difference(
            diff_id=stable_id("orphan_order", o.venue_order_id, o.cloid), kind="orphan_order",
            action="none" if reducing else "operator", blocking=not reducing, symbol=o.symbol,
            cloid=o.cloid,
            venue_order_id=o.venue_order_id,
            detail=(f"venue {o.kind} {o.side} {o.remaining} {o.symbol} (oid {o.venue_order_id}) "
                    f"has no journaled intent" + ("; reduce-only, kept" if reducing else
                                                  "; keep or cancel it")),
        ))  # fmt: skip
    for intent in journal_open_orders:
        if intent.cloid in venue_open_by_cloid:
            continue
        diffs.append(_resolve_absent(intent, filled_by_cloid, lookups, time_ms, updates))

    # protection: every venue position needs resting reduce-only stop(s) covering its size
    for sym, vp in sorted(venue_by_symbol.items()):
        closing_side = "sell" if vp.size > 0 else "buy"
        cover = sum(
            o.remaining for o in venue_open_orders
            if o.symbol == sym and o.kind == "stop_loss" and o.reduce_only
            and o.side == closing_side and o.status == "open"
        )  # fmt: skip
        if cover + SIZE_EPS * max(1.0, abs(vp.size)) >= abs(vp.size):
            continue
        jp = journal_positions.get(sym)
        diffs.append(Difference(
            diff_id=stable_id("unprotected", sym, vp.size, cover), kind="unprotected_position",
            action="protect", symbol=sym, venue_size=vp.size, stop_price=jp.stop if jp else None,
            detail=f"{sym} position {vp.size} has resting reduce-only stops for only {cover}",
        ))  # fmt: skip

    diffs.sort(key=lambda d: (d.kind, d.symbol, d.diff_id))
    blocked = sorted({d.symbol for d in diffs if d.blocking})
    return ReconciliationReport(
        report_id=stable_id("report", [d.diff_id for d in diffs]),
        time_ms=time_ms,
        clean=not blocked,
        differences=diffs,
        fills=fills,
        order_updates=updates,
        blocked_symbols=blocked,
    )


def _resolve_absent(
    intent: OrderIntent,
    filled_by_cloid: Mapping[str, float],
    lookups: Mapping[str, VenueOrder | None] | None,
    time_ms: int,
    updates: list[OrderUpdate],
) -> Difference:
    """A journaled open order the venue does not list as open: fills, then the lookup."""
    filled = filled_by_cloid.get(intent.cloid, 0.0)
    status: Terminal | None = None
    why = ""
    if filled + SIZE_EPS * max(1.0, intent.size) >= intent.size:
        status, why = "filled", f"filled by venue fills ({filled})"
    elif lookups is not None and intent.cloid in lookups:
        found = lookups[intent.cloid]
        if found is None:
            status, why = "canceled", "the venue never accepted this cloid (not placed)"
        elif found.status in TERMINAL_VENUE:
            status = _TERMINAL_OF[found.status]
            why = f"venue reports {found.status}"
    if status is None:
        return Difference(
            diff_id=stable_id("order_unresolved", intent.cloid, filled), kind="order_unresolved",
            action="lookup", symbol=intent.symbol, cloid=intent.cloid,
            detail=f"{intent.purpose} order {intent.cloid} is not open on the venue and its "
                   f"fills ({filled}) do not explain it: look it up by cloid",
        )  # fmt: skip
    ident = stable_id("order_resolved", intent.cloid, status)
    updates.append(OrderUpdate(
        source=SOURCE, seq=_seq_of(ident), cloid=intent.cloid, venue_order_id=None,
        symbol=intent.symbol, status=status, filled_size=filled,
        error=None if status == "filled" else why, time_ms=time_ms,
    ))  # fmt: skip
    return Difference(
        diff_id=ident,
        kind="order_resolved",
        action="record",
        symbol=intent.symbol,
        cloid=intent.cloid,
        detail=f"{intent.purpose} order {intent.cloid}: {why}",
    )
