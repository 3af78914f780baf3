"""A plain-Python FVG, straight from the rules in ``strategies/smc/fvg.py``'s docstring: every
zone of every table is looked at on every bar and the state is recomputed from scratch on every
row. No trigger prices, no cached state, no runner-up: the kernel's shortcuts must not show.

Slow (use a few thousand bars). ``ties_newest=False`` breaks the nearest-zone tie rule (oldest
wins instead), for a negative control.
"""

from __future__ import annotations

import numpy as np

from strategies.smc import atr, fvg
from strategies.smc._common import CLOSE, HIGH, LOW, OPEN

C = {name: k for k, name in enumerate(fvg.COLUMNS)}
DEFAULTS = {name: (np.nan if name.endswith(("_top", "_bottom")) else 0.0) for name in fvg.COLUMNS}
DEFAULTS.update({name: -1.0 for name in fvg.COLUMNS if name.endswith("_ref")})
EVENTS = ("touched", "ce", "filled", "inverted")
INV_EVENTS = ("inv_touched", "inv_ce", "inv_filled", "inv_invalidated")
STATE = (
    (0, "fvg_bull", "fvg_n_bull"),
    (1, "fvg_bear", "fvg_n_bear"),
    (2, "fvg_inv_bull", "fvg_inv_n_bull"),
    (3, "fvg_inv_bear", "fvg_inv_n_bear"),
)


Zone = dict[str, float]


def reference(
    bars: np.ndarray, atr_out: np.ndarray, p: fvg.Params, ties_newest: bool = True
) -> np.ndarray:
    tables: list[list[Zone]] = [[], [], [], []]  # bull, bear, bull IFVG, bear IFVG
    out = np.empty((len(bars), len(fvg.COLUMNS)))
    for i in range(len(bars)):
        row = dict(DEFAULTS)
        for group, names in (((2, 3), INV_EVENTS), ((0, 1), EVENTS)):
            newest = [-1.0] * 4  # born of the zone whose ref each event column holds
            for t in group:
                tables[t][:] = [
                    z for z in tables[t] if advance(bars[i], i, t, z, row, names, newest, tables, p)
                ]
        if i >= 2:
            new_gap(bars, atr_out, p, i, tables, row)
        for t, prefix, count in STATE:
            unfilled = [z for z in tables[t] if not z["fill"]]
            if unfilled:
                key, sign = ("top", 1.0) if t % 2 == 0 else ("bot", -1.0)
                best = max(sign * z[key] for z in unfilled)
                at = [z for z in unfilled if sign * z[key] == best]
                z = at[-1] if ties_newest else at[0]
                row[f"{prefix}_top"], row[f"{prefix}_bottom"] = z["top"], z["bot"]
                row[f"{prefix}_ref"] = z["ref"]
            row[count] = float(len(unfilled))
        out[i] = [row[name] for name in fvg.COLUMNS]
    return out


def push(tables: list[list[Zone]], p: fvg.Params, t: int, *zone: float) -> None:
    """Append a zone, evicting the oldest when the table is full."""
    if len(tables[t]) == p.fvg_max_active:
        tables[t].pop(0)
    top, bot, ref, born = zone
    tables[t].append(dict(top=top, bot=bot, ref=ref, born=born, touch=0, ce=0, fill=0))


def event(row: dict[str, float], name: str, k: int, z: Zone, newest: list[float]) -> bool:
    """Count an event; its ref column keeps the newest zone's ref (ties: the later one)."""
    row[f"fvg_{name}"] += 1
    if z["born"] >= newest[k]:
        newest[k] = z["born"]
        row[f"fvg_{name}_ref"] = z["ref"]
        return True
    return False


def advance(bar, i, t, z, row, names, newest, tables, p) -> bool:  # type: ignore[no-untyped-def]
    """Zone ``z`` of table ``t`` on bar ``i``: its events; False if it leaves the table."""
    bull = t % 2 == 0
    mid = 0.5 * (z["top"] + z["bot"])
    levels = (z["top"], mid, z["bot"]) if bull else (z["bot"], mid, z["top"])
    for k, key in enumerate(("touch", "ce", "fill")):
        reached = bar[LOW] <= levels[k] if bull else bar[HIGH] >= levels[k]
        if reached and not z[key]:
            z[key] = 1
            event(row, names[k], k, z, newest)
    if not (bar[CLOSE] < z["bot"] if bull else bar[CLOSE] > z["top"]):
        return True
    if event(row, names[3], 3, z, newest) and t < 2:
        row["fvg_inverted_dir"] = -1.0 if bull else 1.0
        row["fvg_inverted_top"], row["fvg_inverted_bottom"] = z["top"], z["bot"]
    if t < 2:
        push(tables, p, 3 - t, z["top"], z["bot"], z["ref"], float(i))
    return False


def new_gap(bars, atr_out, p, i, tables, row) -> None:  # type: ignore[no-untyped-def]
    """Section 2 of a bar: the gap it confirms, merged with one created on the previous row."""
    up = bars[i - 1, CLOSE] > bars[i - 1, OPEN]
    down = bars[i - 1, CLOSE] < bars[i - 1, OPEN]
    if bars[i, LOW] > bars[i - 2, HIGH] and (up or not p.fvg_middle_dir):
        t, top, bot = 0, bars[i, LOW], bars[i - 2, HIGH]
    elif bars[i, HIGH] < bars[i - 2, LOW] and (down or not p.fvg_middle_dir):
        t, top, bot = 1, bars[i - 2, LOW], bars[i, HIGH]
    else:
        return
    if p.fvg_min_atr > 0 and not top - bot >= p.fvg_min_atr * atr_out[i, atr.ATR]:
        return
    d = 1.0 if t == 0 else -1.0
    row.update(fvg_dir=d, fvg_ref=float(i - 1), fvg_top=top, fvg_bottom=bot)
    last = tables[t][-1] if tables[t] else None
    if p.fvg_merge and last is not None and last["born"] == i - 1:
        tables[t].pop()
        m_top, m_bot = max(top, last["top"]), min(bot, last["bot"])
        push(tables, p, t, m_top, m_bot, last["ref"], float(i))
        row.update(fvg_merged=d, fvg_merged_ref=last["ref"])
        row.update(fvg_merged_top=m_top, fvg_merged_bottom=m_bot)
    else:
        push(tables, p, t, top, bot, float(i - 1), float(i))
