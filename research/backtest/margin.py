"""Per-asset margin tables: the maximum leverage and maintenance margin the venue applies.

Hyperliquid (docs, Trading > Margin tiers; docs/hyperliquid.md §11): each perp names a margin
table of tiers (lower bound of position notional in USDC, max leverage from that bound up).
Within tier n the maintenance margin is

    MM(N) = N x r_n - d_n,  r_n = 1 / (2 x maxLeverage_n),
    d_0 = 0,  d_n = d_(n-1) + lowerBound_n x (r_n - r_(n-1))

continuous in N, and equal to max_n (N r_n - d_n) because the rates rise tier by tier (the
engine's liquidation price uses that form). Opening a position of notional N needs leverage
<= maxLeverage of N's tier.

The shipped data carry no `meta` with margin tables (the recorded `meta` responses list only
BTC 40x and ETH 25x, `../shared/data/hyperliquid_recorded/nautilus_test_data/
http_meta_perp_sample.json`), so the tables of the 12 shipped Hyperliquid perps are committed
here from the venue's published mainnet tiers; they agree with the recorded maxLeverage values
and with the loopback simulator's COIN_META. `tiers_from_meta` reads a live `meta` reply
(`universe[].marginTableId`, `marginTables`) when one is at hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from research.data.symbols import canonical_symbol

Tiers = tuple[tuple[float, float], ...]  # ((lower bound of notional, max leverage), ...)

_TEN_TO_FIVE_AT_20M: Tiers = ((0.0, 10.0), (20e6, 5.0))
HYPERLIQUID_TIERS: dict[str, Tiers] = {
    "BTC": ((0.0, 40.0), (150e6, 20.0)),
    "ETH": ((0.0, 25.0), (100e6, 15.0)),
    "SOL": ((0.0, 20.0), (70e6, 10.0)),
    "XRP": ((0.0, 20.0), (40e6, 10.0)),
    "DOGE": _TEN_TO_FIVE_AT_20M,
    "SUI": _TEN_TO_FIVE_AT_20M,
    "LTC": _TEN_TO_FIVE_AT_20M,
    "LINK": _TEN_TO_FIVE_AT_20M,
    "AVAX": _TEN_TO_FIVE_AT_20M,
    "ADA": _TEN_TO_FIVE_AT_20M,
    "HYPE": _TEN_TO_FIVE_AT_20M,
    "BNB": ((0.0, 10.0), (3e6, 5.0)),
}
FLAT_TABLES_BELOW = 50  # a marginTableId under 50 is one tier at that leverage (docs)


def hyperliquid_tiers(symbol: str) -> Tiers:
    """The committed margin table of a shipped Hyperliquid perp ('DOGE', 'DOGEUSDC',
    'DOGE/USDC:USDC' all name DOGE); ValueError naming the known coins otherwise."""
    coin = canonical_symbol("hyperliquid", symbol)
    try:
        return HYPERLIQUID_TIERS[coin]
    except KeyError:
        raise ValueError(
            f"no margin table for {symbol!r}: known Hyperliquid perps are "
            f"{', '.join(sorted(HYPERLIQUID_TIERS))} (or read one with tiers_from_meta)"
        ) from None


def tiers_from_meta(meta: Mapping[str, Any], coin: str) -> Tiers:
    """A coin's tiers from a Hyperliquid `meta` reply: its `marginTableId` looked up in
    `marginTables` ([[id, {marginTiers: [{lowerBound, maxLeverage}]}]]), an id under 50 being
    one tier at that leverage; without a table id (older replies), one tier at maxLeverage."""
    universe = meta.get("universe") or []
    entry = next((u for u in universe if u.get("name") == coin), None)
    if entry is None:
        raise ValueError(f"{coin!r} is not in the meta universe")
    table_id = entry.get("marginTableId")
    if table_id is None or int(table_id) < FLAT_TABLES_BELOW:
        lev = float(entry["maxLeverage"] if table_id is None else table_id)
        return ((0.0, lev),)
    for tid, table in meta.get("marginTables") or []:
        if int(tid) == int(table_id):
            tiers = tuple(
                (float(t["lowerBound"]), float(t["maxLeverage"])) for t in table["marginTiers"]
            )
            check_tiers(tiers)
            return tiers
    raise ValueError(f"{coin!r}: margin table {table_id} is not in meta.marginTables")


def check_tiers(tiers: Sequence[tuple[float, float]]) -> None:
    """First bound 0, bounds strictly rising, max leverage > 0 and never rising."""
    if not tiers:
        raise ValueError("a margin table needs at least one tier")
    if tiers[0][0] != 0.0:
        raise ValueError(f"the first margin tier must start at notional 0, got {tiers[0][0]}")
    for (b0, l0), (b1, l1) in zip(tiers, tiers[1:], strict=False):
        if not b1 > b0:
            raise ValueError(f"margin tier bounds must rise: {b0} then {b1}")
        if l1 > l0:
            raise ValueError(f"max leverage must not rise with notional: {l0} then {l1}")
    if any(not lev > 0 for _, lev in tiers):
        raise ValueError("max leverage must be positive in every tier")


def maintenance_schedule(tiers: Tiers) -> tuple[list[float], list[float]]:
    """(rates r_n, deductions d_n) of the tiers, as the venue defines them (module docstring)."""
    rates = [1.0 / (2.0 * lev) for _, lev in tiers]
    deductions = [0.0]
    for n in range(1, len(tiers)):
        deductions.append(deductions[-1] + tiers[n][0] * (rates[n] - rates[n - 1]))
    return rates, deductions
