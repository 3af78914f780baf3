"""One canonical stored name per market, whatever notation the user types.

Canonical names (what the store uses as a folder name):

* ``hyperliquid``: the SDK coin name, e.g. ``BTC`` (what ``Info.candles_snapshot`` takes).
  ``BTC``, ``btc``, ``BTCUSDC`` (shipped file names) and ccxt ``BTC/USDC:USDC`` all map to
  ``BTC``. Mixed-case coins such as ``kPEPE`` keep their case.
* every other venue: base+quote without separators or settle suffix, upper case, e.g.
  ``BTC/USDT:USDT`` → ``BTCUSDT``; names with a dash (``BTC-PERP``) are kept.
"""

from __future__ import annotations

import re

_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")
_VENUE = re.compile(r"^[a-z0-9]+$")


def canonical_venue(venue: str) -> str:
    """Lower-case venue id (ccxt exchange ids are lower case too)."""
    v = (venue or "").strip().lower()
    if not _VENUE.match(v):
        raise ValueError(f"invalid venue {venue!r}: use letters and digits, e.g. 'hyperliquid'")
    return v


def canonical_symbol(venue: str, symbol: str) -> str:
    """Normalise ``symbol`` for ``venue`` to the stored name (see module docstring)."""
    v = canonical_venue(venue)
    raw = (symbol or "").strip()
    if "/" in raw:  # ccxt notation BASE/QUOTE[:SETTLE]
        base, _, rest = raw.partition("/")
        quote = rest.partition(":")[0]
        raw = base if v == "hyperliquid" and quote.upper() == "USDC" else base + quote
    if not raw or not _VALID.match(raw):
        raise ValueError(f"invalid symbol {symbol!r} for venue {v!r}")
    if v == "hyperliquid":
        if raw.islower():
            raw = raw.upper()
        if raw.upper().endswith("USDC") and len(raw) > 4:
            raw = raw[:-4]
        return raw
    return raw.upper()
