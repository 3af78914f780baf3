"""Which market a simulator replays and where its clock starts (from SimulatorConfig only).

Why separate: the server wires threads and sockets; these are the replay's start-up rules, and
they need nothing but the config and the shipped files (actors never read cluster settings).
"""

from __future__ import annotations

from actors.venues.simulator.config import SimulatorConfig
from actors.venues.simulator.market import INTERVAL_MS, Market

HOUR = 3_600_000
DEFAULT_START_MS = 1_753_142_400_000  # 2025-07-22 00:00 UTC, inside every shipped 1m file


def build_market(cfg: SimulatorConfig) -> Market | None:
    if not cfg.replay:
        return None
    from actors.venues.simulator.market_data import load_coin

    assert cfg.market_dir is not None  # SimulatorConfig requires it when replaying
    coins = {c: load_coin(cfg.market_dir, c) for c in cfg.symbols}
    return Market(coins, cfg.candle_history_limit)


def check_start(market: Market, start_ms: int) -> None:
    """A replay must start where every coin has data (ValueError naming the range otherwise)."""
    for coin in market.coins:
        first, last = market.first_time(coin), market.last_close_time(coin)
        if not first <= start_ms < last:
            raise ValueError(
                f"start_ms {start_ms} is outside the shipped {coin} data ({first} to {last})"
            )


def default_start(market: Market | None) -> int:
    """First hour at which every coin already has its finest (1m) bars."""
    if market is None:
        return DEFAULT_START_MS
    firsts = []
    for d in market.coins.values():
        finest = min(d.bars, key=lambda tf: INTERVAL_MS[tf])
        firsts.append(int(d.bars[finest].t[0]))
    return (max(firsts) // HOUR + 1) * HOUR
