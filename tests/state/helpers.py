"""Builders of valid messages for the state-store tests."""

from __future__ import annotations

from actors.messages import Fill, OrderIntent, OrderUpdate, make_cloid


def intent(n: int = 0, *, symbol: str = "BTC", side: str = "buy", size: float = 1.0,
           purpose: str = "entry", kind: str = "market", trigger: float | None = None,
           stop: float | None = 90.0, target: float | None = 120.0,
           reduce_only: bool = False) -> OrderIntent:  # fmt: skip
    return OrderIntent.model_validate({
        "source": "executor", "seq": n, "intent_id": f"i{n}",
        "cloid": make_cloid("s", symbol, f"sig{n}", purpose), "signal_id": f"sig{n}",
        "symbol": symbol, "side": side, "size": size, "kind": kind, "trigger_price": trigger,
        "reduce_only": reduce_only, "purpose": purpose, "stop": stop, "target": target,
    })  # fmt: skip


def fill(tid: str, *, symbol: str = "BTC", side: str = "buy", size: float = 1.0,
         price: float = 100.0, fee: float = 0.0, t: int = 0, cloid: str | None = None,
         seq: int = 0) -> Fill:  # fmt: skip
    return Fill.model_validate({
        "source": "venue", "seq": seq, "trade_id": tid, "cloid": cloid, "venue_order_id": "1",
        "symbol": symbol, "side": side, "size": size, "price": price, "fee": fee, "time_ms": t,
    })  # fmt: skip


def update(cloid: str, status: str, *, seq: int, t: int = 0, filled: float = 0.0) -> OrderUpdate:
    return OrderUpdate.model_validate({
        "source": "executor", "seq": seq, "cloid": cloid, "venue_order_id": "1", "symbol": "BTC",
        "status": status, "filled_size": filled, "time_ms": t,
    })  # fmt: skip
