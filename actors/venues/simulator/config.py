"""Simulator configuration (from code, the CLI, or a TOML/JSON file).

Everything the simulator needs comes in here (actors never read cluster settings): the caller
supplies `market_dir`, the folder holding `hyperliquid_perp_2025/` (`fractal sim` passes
`Settings.market_data_dir`), whenever `replay` is on.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from actors.venues.simulator.clock import MODES


@dataclass
class SimulatorConfig:
    symbols: list[str] = field(default_factory=lambda: ["BTC", "ETH"])
    accounts: dict[str, float] = field(default_factory=dict)
    clock: str = "manual"
    speed: float = 1.0
    start_ms: int | None = None
    state_dir: Path | None = None
    port: int = 0
    host: str = "127.0.0.1"
    market_dir: Path | None = None
    replay: bool = True
    rate_limit_per_min: int | None = None
    book_level_usd: float = 250_000.0
    candle_history_limit: int | None = 5000
    coin_meta: dict[str, tuple[int, int]] = field(default_factory=dict)
    tick_interval_s: float = 0.2
    faults: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # kind -> params, armed at start

    def __post_init__(self) -> None:
        if self.clock not in MODES:
            raise ValueError(f"clock must be one of {', '.join(MODES)}, got {self.clock!r}")
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the simulator binds loopback only, got host {self.host!r}")
        if not self.symbols:
            raise ValueError("at least one symbol is required")
        self.symbols = [
            s.strip().upper() if s.strip().upper() != "KPEPE" else "kPEPE" for s in self.symbols
        ]
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, got {self.speed}")
        self.accounts = {k.lower(): float(v) for k, v in self.accounts.items()}
        if self.state_dir is not None:
            self.state_dir = Path(self.state_dir)
        if self.market_dir is not None:
            self.market_dir = Path(self.market_dir)
        elif self.replay:
            raise ValueError("market_dir is required to replay market data (or set replay=False)")

    @classmethod
    def from_file(
        cls, path: Path, defaults: dict[str, Any] | None = None, **overrides: Any
    ) -> SimulatorConfig:
        """Read a .toml or .json file; unknown keys are an error naming them. `defaults` fill
        keys the file leaves out; `overrides` (unless None) replace the file's values."""
        text = Path(path).read_text()
        data = tomllib.loads(text) if str(path).endswith(".toml") else json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a table/object at top level")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown simulator settings {unknown}")
        data = {**(defaults or {}), **data}
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)


def parse_account(spec: str) -> tuple[str, float]:
    """`ADDRESS=USDC` from the command line."""
    addr, sep, amount = spec.partition("=")
    if not sep:
        raise ValueError(f"--account expects ADDRESS=USDC, got {spec!r}")
    addr = addr.strip().lower()
    if not (addr.startswith("0x") and len(addr) == 42):
        raise ValueError(f"--account address must be 0x + 40 hex digits, got {addr!r}")
    try:
        usdc = float(amount)
    except ValueError:
        raise ValueError(f"--account balance must be a number, got {amount!r}") from None
    if usdc < 0:
        raise ValueError(f"--account balance must be >= 0, got {usdc}")
    return addr, usdc
