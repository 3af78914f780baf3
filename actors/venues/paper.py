"""Paper trading: the loopback Hyperliquid simulator replaying shipped data, plus a funded account.

Why the same adapter: paper must not be better than live (failure_modes F25), so the actors talk
to the simulator through :class:`actors.venues.hyperliquid.HyperliquidVenue` and the unmodified
SDK, signing real EIP-712 actions with a demo key. Only the venue is simulated.

The replay clock starts at :data:`DEFAULT_PAPER_START_MS` unless told otherwise: 2025-07-01 00:00
UTC lies inside the 5m/15m/1h files of all 12 shipped Hyperliquid perps, with about 4.7 months of
15m bars (and 10 months of 1h bars) before it for strategy warm-up and 25 days after it to trade
(the 1m files, which give the finest price path, begin on 2025-07-21).

The demo key is generated with eth-account, kept in memory and in ``state_dir/paper_account.key``
(mode 0600) so a restart resumes the same account and simulator state; it is never printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType

import eth_account
from pydantic import SecretStr

from actors.venues.factory import VenueSpec
from actors.venues.simulator import Simulator, SimulatorConfig

DEFAULT_PAPER_START_MS = 1_751_328_000_000  # 2025-07-01 00:00:00 UTC
KEY_FILE = "paper_account.key"
ENDPOINT_FILE = "endpoint.json"  # where a running paper venue listens (for `fractal kill`)


def _load_or_create_key(path: Path) -> str:
    """The demo account's private key: read from ``path`` or generated and written 0600."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} must be readable by its owner only (chmod 600)")
        key = path.read_text().strip()
        try:
            eth_account.Account.from_key(key)
        except (ValueError, TypeError):
            raise ValueError(f"{path} does not hold a valid private key") from None
        return key
    key = "0x" + bytes(eth_account.Account.create().key).hex().removeprefix("0x")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


class PaperExchange:
    """Context manager: starts the simulator and a funded demo account; ``spec`` reaches it."""

    spec: VenueSpec

    def __init__(
        self,
        *,
        market_dir: Path,
        state_dir: Path,
        symbols: list[str],
        speed: float,
        start_ms: int | None = None,
        equity: float = 10_000.0,
        clock: str = "accelerated",
    ) -> None:
        if speed <= 0:
            raise ValueError(f"paper speed must be positive, got {speed}")
        if equity <= 0:
            raise ValueError(f"paper equity must be positive, got {equity}")
        if not symbols:
            raise ValueError("paper trading needs at least one symbol")
        self.market_dir = Path(market_dir)
        self.state_dir = Path(state_dir)
        self.symbols = list(symbols)
        self.speed = float(speed)
        self.start_ms = DEFAULT_PAPER_START_MS if start_ms is None else int(start_ms)
        self.equity = float(equity)
        self.clock = clock  # "manual" for tests that move time themselves
        self._sim: Simulator | None = None

    def __repr__(self) -> str:
        return f"PaperExchange(symbols={self.symbols}, speed={self.speed}, state={self.state_dir})"

    @property
    def simulator(self) -> Simulator:
        """The running simulator (tests drive its faults); RuntimeError outside the context."""
        if self._sim is None:
            raise RuntimeError("PaperExchange is not running (use it as a context manager)")
        return self._sim

    def now_ms(self) -> int:
        """The replay clock, epoch ms."""
        return self.simulator.clock.now_ms()

    def __enter__(self) -> PaperExchange:
        key = _load_or_create_key(self.state_dir / KEY_FILE)
        address = eth_account.Account.from_key(key).address.lower()
        cfg = SimulatorConfig(
            symbols=self.symbols,
            accounts={address: self.equity},
            clock=self.clock,
            speed=self.speed,
            start_ms=self.start_ms,
            state_dir=self.state_dir / "simulator",
            market_dir=self.market_dir,
            port=0,
        )
        sim = Simulator(cfg)
        sim.start()
        self._sim = sim
        try:
            self.spec = VenueSpec(
                kind="paper",
                network="paper",
                base_url=sim.base_url,
                account_address=address,
                secret_key=SecretStr(key),
                nonce_path=self.state_dir / "paper_nonce.json",
                clock_speed=self.speed,
            )
            _write_endpoint(self.state_dir / ENDPOINT_FILE, sim.base_url, self.speed)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        sim, self._sim = self._sim, None
        if sim is not None:
            (self.state_dir / ENDPOINT_FILE).unlink(missing_ok=True)
            sim.stop()


def _write_endpoint(path: Path, base_url: str, speed: float) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"base_url": base_url, "pid": os.getpid(), "speed": speed}))
    os.replace(tmp, path)


def running_spec(state_dir: Path) -> VenueSpec | None:
    """The spec of the paper venue another process is running on ``state_dir`` (its endpoint
    file names a live pid), or None: lets `fractal kill` reach a running `fractal live`."""
    try:
        ep = json.loads((Path(state_dir) / ENDPOINT_FILE).read_text())
        os.kill(int(ep["pid"]), 0)  # raises when that process is gone
    except (OSError, ValueError, KeyError, TypeError):
        return None
    key = _load_or_create_key(Path(state_dir) / KEY_FILE)
    return VenueSpec(kind="paper", network="paper", base_url=str(ep["base_url"]),
                     account_address=eth_account.Account.from_key(key).address.lower(),
                     secret_key=SecretStr(key), nonce_path=Path(state_dir) / "paper_nonce.json",
                     clock_speed=float(ep.get("speed", 1.0)))  # fmt: skip
