"""Per-signer nonce rules: unused, above the smallest of the 100 kept, inside (T - 2d, T + 1d).

Why per signer: the venue tracks nonces for whoever signed (the agent when an agent signs), and
duplicate nonces are the classic failure of same-millisecond SDK calls. T is wall-clock time,
because the SDK makes nonces from the wall clock even when the simulated clock replays 2025.
"""

from __future__ import annotations

import bisect

from actors.venues.simulator import errors

KEEP = 100
DAY_MS = 86_400_000


class NonceBook:
    def __init__(self, kept: dict[str, list[int]] | None = None) -> None:
        self.kept: dict[str, list[int]] = {k: sorted(v) for k, v in (kept or {}).items()}

    def check_and_use(self, signer: str, nonce: int, wall_ms: int) -> str | None:
        """Record `nonce` for `signer`; return the venue's error text instead if it is invalid."""
        kept = self.kept.setdefault(signer, [])
        i = bisect.bisect_left(kept, nonce)
        if i < len(kept) and kept[i] == nonce:
            return errors.DUPLICATE_NONCE.format(nonce=nonce)
        if len(kept) >= KEEP and nonce <= kept[0]:
            return errors.NONCE_TOO_LOW.format(nonce=nonce)
        if not (wall_ms - 2 * DAY_MS < nonce < wall_ms + DAY_MS):
            return errors.NONCE_OUT_OF_WINDOW.format(nonce=nonce)
        kept.insert(i, nonce)
        if len(kept) > KEEP:
            del kept[0]
        return None
