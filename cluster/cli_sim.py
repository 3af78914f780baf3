"""`fractal sim` — loopback Hyperliquid simulator (paper-trading and test venue).

Heavy imports happen inside the command so `fractal --help` stays fast.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated

import typer

from cluster.cli_common import console, fail, settings_or_exit

if TYPE_CHECKING:
    from actors.venues.simulator import Simulator, SimulatorConfig

DEMO_KEY_FILE = "sim/demo_account.key"


def write_demo_key(data_dir: Path) -> tuple[str, Path]:
    """Create (or reuse) a demo account key in a 0600 file; returns (address, path)."""
    import eth_account

    path = data_dir / DEMO_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        key = path.read_text().strip()
    else:
        import secrets

        key = "0x" + secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
    os.chmod(path, 0o600)
    return eth_account.Account.from_key(key).address, path


class StopSignals:
    """Catch SIGINT and SIGTERM from the moment they are installed; `wait()` returns the first.

    Why not `threading.Event().wait()` and KeyboardInterrupt: CPython runs signal handlers only
    in the main thread, between bytecodes or when its blocking call fails with EINTR. A signal
    the kernel hands to another thread of the process (the simulator's event-loop thread, an
    executor worker, a native BLAS thread: none block SIGINT), or one that arrives just before
    the main thread enters its futex wait, is recorded but never wakes that wait: `fractal sim`
    then ignored Ctrl-C for ever (seen as the intermittent stop hang). asyncio's signal handling
    writes every signal into a self-pipe (signal.set_wakeup_fd) whichever thread receives it, so
    this wait always ends; a signal during start-up is kept until `wait()` runs.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> StopSignals:
        self._loop = asyncio.new_event_loop()
        self._got: asyncio.Future[int] = self._loop.create_future()
        for sig in self.SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal, sig)
        return self

    def _on_signal(self, sig: int) -> None:
        if not self._got.done():
            self._got.set_result(sig)

    def wait(self) -> str:
        """Block until SIGINT or SIGTERM; returns the signal's name."""
        return signal.Signals(self._loop.run_until_complete(self._got)).name

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig in self.SIGNALS:
            self._loop.remove_signal_handler(sig)  # restores the default handlers
        self._loop.close()


def sim(
    symbols: Annotated[
        str, typer.Option(help="Comma-separated coins to replay, e.g. BTC,ETH.")
    ] = "BTC,ETH",
    speed: Annotated[
        float, typer.Option(help="Replay speed (1 = real time, 60 = one minute per second).")
    ] = 60,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free port).")] = 8765,
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account", help="ADDRESS=USDC, repeatable. Without it a demo account is created."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Simulator settings file (.toml or .json).")
    ] = None,
    start_ms: Annotated[
        int | None, typer.Option(help="Replay start, ms since epoch (default: 1m data start).")
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Ignore the saved simulator state.")] = False,
    rate_limit: Annotated[int, typer.Option(help="IP weight per minute (0 = unlimited).")] = 1200,
) -> None:
    """Start the simulator, print its base URL and run until Ctrl-C."""
    from actors.venues.simulator import Simulator
    from actors.venues.simulator.config import SimulatorConfig, parse_account

    settings = settings_or_exit()
    state_dir = settings.fractal_data_dir / "sim"
    try:
        accounts = dict(parse_account(a) for a in (account or []))
        demo = None
        if not accounts and config is None:
            addr, key_path = write_demo_key(settings.fractal_data_dir)
            accounts[addr.lower()] = 10_000.0
            demo = (addr, key_path)
        if fresh:
            from actors.venues.simulator.state import clear

            clear(state_dir)  # snapshot and journal
        overrides = {
            "symbols": [s for s in symbols.split(",") if s.strip()],
            "clock": "real" if speed == 1 else "accelerated",
            "speed": speed,
            "port": port,
            "state_dir": state_dir,
            "market_dir": settings.market_data_dir,
            "start_ms": start_ms,
            "rate_limit_per_min": rate_limit or None,
        }
        if config is not None:
            cfg = SimulatorConfig.from_file(
                config, defaults={"market_dir": settings.market_data_dir}, state_dir=state_dir
            )
            cfg.accounts.update(accounts)
        else:
            cfg = SimulatorConfig(accounts=accounts, **overrides)  # type: ignore[arg-type]
        simulator = Simulator(cfg)
    except (ValueError, OSError, RuntimeError) as err:
        hint = (
            " (start with --fresh to discard the saved state)" if "saved state" in str(err) else ""
        )
        raise fail(f"{err}{hint}") from None
    with StopSignals() as signals:  # installed before start: an early Ctrl-C is not lost
        try:
            simulator.start()
        except RuntimeError as err:
            raise fail(str(err)) from None
        try:
            _announce(simulator, cfg, state_dir, demo)
            got = signals.wait()
            console.print(f"{got}: stopping simulator")
        finally:
            simulator.stop()


def _announce(
    simulator: Simulator, cfg: SimulatorConfig, state_dir: Path, demo: tuple[str, Path] | None
) -> None:
    console.print(f"simulator listening on {simulator.base_url}")
    console.print(
        f"  symbols {', '.join(cfg.symbols)} · clock {cfg.clock} x{cfg.speed:g} · state {state_dir}"
    )
    for addr, usdc in cfg.accounts.items():
        console.print(f"  account {addr}  {usdc:,.2f} USDC")
    if demo is not None:
        console.print(f"  demo account {demo[0]}: private key written to {demo[1]} (mode 0600)")
    print(simulator.base_url, flush=True)
