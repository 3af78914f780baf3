"""`fractal live` — run the live actor system (paper by default) until Ctrl-C or --duration.

Wiring only: settings -> :class:`actors.system.LiveConfig`; in paper mode the loopback simulator
(:class:`actors.venues.paper.PaperExchange`) replays shipped Hyperliquid data at ``--speed``.
The driver prints what the actors report (signals, orders, fills, P&L) as readable lines and, on
mainnet, owns the terminal for the typed CONFIRM of each order request.

Start-up order matters in paper mode: the strategy kernels are compiled (or loaded from the numba
cache) *before* the replay clock starts, so a cold cache costs wall time, not simulated bars;
``--duration`` counts from the moment the system is live.
"""

from __future__ import annotations

import dataclasses
import os
import re
import select
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cluster.cli_common import console, err_console, fail
from cluster.settings import ConfigError, Network, Settings, load_settings

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``30s``, ``10m``, ``24h``, ``2d`` or plain seconds -> seconds (> 0)."""
    m = DURATION.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"--duration expects e.g. 30s, 10m, 24h; got {text!r}")
    return float(m.group(1)) * UNITS[m.group(2) or "s"]


LIVE_NAMESPACE = "fractal-live"  # where a cluster's detached live actors are found by name
LOCAL_CPUS = 2


def connect(address: str | None) -> Any:
    """Embedded local Ray, or join the cluster at ``address`` (cluster/ray_runtime.py); exit 2
    on a bad or unreachable address, 1 when the local instance cannot start."""
    from cluster.ray_runtime import RayAddressError, RayStartError, ensure_ray

    try:
        return ensure_ray(address, num_cpus=LOCAL_CPUS, namespace=LIVE_NAMESPACE)
    except RayAddressError as err:
        raise fail(str(err), 2) from None
    except RayStartError as err:
        raise fail(str(err), 1) from None


def placement_for(ray: Any, address: str | None, runners_per_actor: int | None = None) -> Any:
    """The single-process layout locally; on a cluster the StateKeeper's node must exist.
    ``runners_per_actor`` (LIVE_RUNNERS_PER_ACTOR) overrides the layout's runner grouping."""
    from actors.placement import RUNNER_RESOURCE, STATE_RESOURCE, Placement

    if address is None and not os.environ.get("RAY_ADDRESS"):
        place = Placement()
    else:
        if ray.cluster_resources().get(STATE_RESOURCE, 0) < 1:
            raise fail(
                f"no node of the cluster offers the {STATE_RESOURCE!r} resource: start the node "
                f"that owns the journal with `ray start ... --resources '{{\"{STATE_RESOURCE}\": 1}}'`",
                2,
            )
        live_nodes = ray.cluster_resources().get(RUNNER_RESOURCE, 0) > 0  # on-demand runner nodes
        place = Placement.cluster(runner_resource=RUNNER_RESOURCE if live_nodes else None)
    if runners_per_actor is None:
        return place
    return dataclasses.replace(place, runners_per_actor=runners_per_actor)


def _settings(config: Path | None, overrides: dict[str, Any]) -> Settings:
    """Settings from the env file (or .env) and the environment; options override both."""
    if config is not None and not config.is_file():
        raise fail(f"--config {config}: no such file", 2)
    try:
        return load_settings(**overrides, **({"_env_file": config} if config else {}))
    except ConfigError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None


def _fmt_event(ev: Any) -> str:
    when = (datetime.fromtimestamp(ev.time_ms / 1000, UTC).strftime("%m-%d %H:%M")
            if ev.time_ms else "           ")  # fmt: skip
    color = {"INFO": "", "WARNING": "yellow", "CRITICAL": "bold red"}[ev.level.value]
    text = f"{when}  {ev.text}"
    return f"[{color}]{text}[/{color}]" if color else text


def _read_line(timeout_s: float) -> str | None:
    ready, _, _ = select.select([sys.stdin], [], [], max(0.0, timeout_s))
    return sys.stdin.readline() if ready else None


def live(
    config: Annotated[
        Path | None, typer.Option(help="Env file with the settings (e.g. .env.testnet).")
    ] = None,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols (default: DEFAULT_SYMBOL).")
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help="Strategy for every symbol (default: LIVE_STRATEGY / per-symbol config)."
        ),
    ] = None,
    network: Annotated[
        str | None, typer.Option(help="paper | testnet | mainnet (default: NETWORK, else paper).")
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            help="Paper replay speed, simulated seconds per wall second (default: PAPER_SPEED)."
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(help="Stop after this much wall-clock time once live, e.g. 10m, 24h."),
    ] = None,
    venue: Annotated[
        str,
        typer.Option(
            help="hyperliquid | binanceusdm | bybit | okx (CCXT venues: testnet/mainnet)."
        ),
    ] = "hyperliquid",
    address: Annotated[
        str | None,
        typer.Option(help="auto | HOST:PORT of a Ray head (default: embedded local Ray)."),
    ] = None,
    stop_running: Annotated[
        bool,
        typer.Option(
            "--stop-running",
            help="With --address: stop the detached live system running on that cluster.",
        ),
    ] = False,
    accept_preflight_failure: Annotated[
        bool,
        typer.Option(
            help="Mainnet only: start despite a failed preflight after typing "
            "I ACCEPT THE RISK (logged)."
        ),
    ] = False,
) -> None:
    """Run the live system until Ctrl-C/SIGTERM or --duration; state is flushed on the way out."""
    if stop_running:
        if address is None:
            raise fail("--stop-running needs --address (the cluster the system runs on)", 2)
        _stop_running(connect(address))
        return
    overrides: dict[str, Any] = {}
    if network is not None:
        overrides["network"] = network
    if strategy is not None:
        overrides["live_strategy"] = strategy
        overrides["live_symbol_strategies"] = {}
    if speed is not None:
        overrides["paper_speed"] = speed
    settings = _settings(config, overrides)
    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as err:
        raise fail(str(err), 2) from None
    names = [
        s.strip().upper() for s in (symbols or settings.default_symbol).split(",") if s.strip()
    ]
    if not names:
        raise fail("--symbols is empty", 2)
    venue = venue.strip().lower()
    if venue not in ("hyperliquid", *CCXT_VENUES):
        raise fail(f"--venue {venue!r}: expected hyperliquid, {', '.join(CCXT_VENUES)}", 2)
    if venue != "hyperliquid":
        _check_ccxt(settings, venue)  # before any venue or Ray is touched
    if settings.network is Network.MAINNET:  # before any venue or Ray is touched
        from cluster.cli_preflight import require_preflight

        require_preflight(settings.fractal_data_dir, accept_preflight_failure)
    if (
        venue == "hyperliquid"
        and settings.network is not Network.PAPER
        and (settings.private_key is None or settings.account_address is None)
    ):  # before anything starts
        raise fail(f"{settings.network.value} needs PRIVATE_KEY and ACCOUNT_ADDRESS", 2)
    if address is not None:
        from cluster.ray_runtime import RayAddressError, parse_address

        try:
            parse_address(address)
        except RayAddressError as err:
            raise fail(str(err), 2) from None
    run_live(settings, names, seconds, venue, address)


CCXT_VENUES = ("binanceusdm", "bybit", "okx")
CCXT_IMPLEMENTED = (  # README "Exchanges through ccxt"
    "binanceusdm",
    "bybit",
    "okx",
)


def _check_ccxt(settings: Settings, venue: str) -> None:
    """A CCXT venue needs testnet/mainnet, an implemented adapter and its API keys (exit 2)."""
    if settings.network is Network.PAPER:
        raise fail(f"--venue {venue} needs --network testnet or mainnet "
                   "(paper trading is Hyperliquid's simulator)", 2)  # fmt: skip
    if venue not in CCXT_IMPLEMENTED:
        raise fail(f"--venue {venue}: live trading through ccxt is implemented for "
                   f"{', '.join(CCXT_IMPLEMENTED)} only so far", 2)  # fmt: skip
    try:
        settings.ccxt_credentials(venue)
    except ValueError as err:
        raise fail(str(err), 2) from None


def run_live(
    settings: Settings,
    symbols: list[str],
    seconds: float | None,
    venue: str = "hyperliquid",
    address: str | None = None,
) -> None:
    """The live loop (also what `fractal run` starts)."""
    from actors import system
    from actors.crash import CrashPlan

    plans = [system.SymbolPlan(s, *settings.strategy_for(s)) for s in symbols]
    data_dir = settings.fractal_data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    net = settings.network
    console.print(f"[bold]Fractal Trader live[/bold] — network [bold]{net.value}[/bold], "
                  f"{settings.default_timeframe}, data dir {data_dir}")  # fmt: skip
    for p in plans:
        console.print(f"  {p.symbol}: {p.strategy} {p.params or '(default parameters)'}")
    crash = None
    if os.environ.get("FRACTAL_CRASH_AT"):
        crash = CrashPlan(os.environ["FRACTAL_CRASH_AT"], data_dir / "crash.marker", (os.getpid(),))
    t0 = time.monotonic()
    ray = connect(address)
    placement = placement_for(ray, address, settings.live_runners_per_actor)
    _refuse_second_system(ray)
    runners = system.start_runners(tuple(plans), settings.default_timeframe, placement=placement)
    system.wait_ready(runners)  # kernels loaded (or compiled) before any paper clock runs
    console.print(f"  Ray and strategy kernels ready in {time.monotonic() - t0:.1f} s")
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    from actors.state.runs import run_ended, run_started

    run_id = run_started(data_dir, net.value)  # preflight evidence: runs, restarts, crashes
    clean = False
    halted: str | None = None
    try:
        with _venue(settings, data_dir, symbols, venue) as spec:
            cfg = _live_config(settings, spec, data_dir, plans, crash, placement)
            live_system = system.start(cfg, runners=runners)
            reports = _daily_reports(settings, data_dir, live_system.alerter)
            monitor = _monitor(settings, live_system, run_id)
            try:
                console.print(f"  live in {time.monotonic() - t0:.1f} s"
                              + (f"; stopping after {seconds:g} s" if seconds else "; Ctrl-C stops"))  # fmt: skip
                halted = _loop(ray, live_system, stop, seconds, monitor)
            finally:
                reports.stop()
                _close_monitor(monitor)
                console.print("stopping: flushing state, stopping actors")
                live_system.stop()
                _summary(data_dir)
        clean = halted is None
    finally:
        run_ended(data_dir, run_id, clean)
        for s, h in previous.items():
            signal.signal(s, h)
        ray.shutdown()
    if halted is not None:
        raise fail(f"stopped: {halted}; the protective stops stay on the venue", 3)


class _venue:
    """Paper: the simulator for the run's lifetime; testnet/mainnet: the credentials' spec."""

    def __init__(
        self, settings: Settings, data_dir: Path, symbols: list[str], venue: str = "hyperliquid"
    ) -> None:
        self.settings, self.data_dir, self.symbols = settings, data_dir, symbols
        self.venue = venue
        self.paper: Any = None

    def __enter__(self) -> Any:
        from actors.venues.factory import VenueSpec

        s = self.settings
        if self.venue != "hyperliquid":
            return self._ccxt_spec()
        if s.network is Network.PAPER:
            from actors.venues.paper import PaperExchange

            start = int(s.paper_start.timestamp() * 1000) if s.paper_start else None
            self.paper = PaperExchange(
                market_dir=s.market_data_dir, state_dir=self.data_dir / "paper",
                symbols=self.symbols, speed=s.paper_speed, start_ms=start, equity=s.paper_equity,
            ).__enter__()  # fmt: skip
            return self.paper.spec
        if s.private_key is None or s.account_address is None:
            raise fail(f"{s.network.value} needs PRIVATE_KEY and ACCOUNT_ADDRESS", 2)
        if s.network is Network.MAINNET:
            console.print(f"[bold red]MAINNET[/bold red] account {s.account_address}: real money. "
                          + ("AUTO_CONFIRM is on." if s.auto_confirm else
                             "Every order request needs a typed CONFIRM."))  # fmt: skip
        return VenueSpec.hyperliquid(
            network=s.network.value,  # type: ignore[arg-type]
            account_address=s.account_address, secret_key=s.private_key,
            nonce_path=self.data_dir / "state" / f"{s.network.value}_nonce.json",
        )  # fmt: skip

    def _ccxt_spec(self) -> Any:
        from actors.venues.ccxt_spec import CcxtSpec

        s = self.settings
        creds = s.ccxt_credentials(self.venue)  # checked before start; never printed
        if s.network is Network.MAINNET:
            console.print(f"[bold red]MAINNET[/bold red] {self.venue}: real money. "
                          + ("AUTO_CONFIRM is on." if s.auto_confirm else
                             "Every order request needs a typed CONFIRM."))  # fmt: skip
        return CcxtSpec(
            exchange=self.venue,  # type: ignore[arg-type]
            network=s.network.value,  # type: ignore[arg-type]
            api_key=creds["api_key"], secret=creds["api_secret"],
            password=creds.get("api_password"), symbols=tuple(self.symbols),
            leverage=s.ccxt_leverage,
        )  # fmt: skip

    def __exit__(self, *exc: object) -> None:
        if self.paper is not None:
            self.paper.__exit__(None, None, None)


def _daily_reports(settings: Settings, data_dir: Path, alerter: Any) -> Any:
    """Yesterday's report at DAILY_REPORT_UTC, its summary sent to the Alerter."""
    from actors.reports.schedule import DailyReportScheduler

    return DailyReportScheduler(
        data_dir, settings.daily_report_utc, lambda ev: alerter.send.remote(ev)
    ).start()


def telegram_config(settings: Settings, data_dir: Path) -> Any:
    """Telegram alerts when TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are set; else None (log)."""
    if not settings.telegram_configured:
        return None
    from actors.alerts.sink import TelegramAlertConfig

    return TelegramAlertConfig(
        token=settings.telegram_bot_token,  # type: ignore[arg-type]  # checked: configured
        chat_id=str(settings.telegram_chat_id), data_dir=data_dir,
        min_level=settings.alert_min_level, per_hour=settings.alerts_per_hour,
        disabled_kinds=settings.alert_disabled_kind_set,
    )  # fmt: skip


def _live_config(settings: Settings, spec: Any, data_dir: Path, plans: list[Any],
                 crash: Any, placement: Any = None) -> Any:  # fmt: skip
    from actors.system import LiveConfig

    paper = settings.network is Network.PAPER
    speed = settings.paper_speed if paper else 1.0
    return LiveConfig(
        spec=spec, data_dir=data_dir, symbols=tuple(plans), timeframe=settings.default_timeframe,
        limits=settings.risk_limits(), thresholds=settings.breaker_thresholds(),
        correlation_timeframe=settings.correlation_timeframe,
        warmup_bars=settings.live_warmup_bars, snapshot_s=settings.state_snapshot_seconds,
        backup_keep_days=settings.backup_keep_days,
        reconcile_s=max(1.0, settings.check_interval_seconds / speed) if paper
        else settings.check_interval_seconds,
        poll_s=0.1 if paper and speed > 60 else 0.5, auto_confirm=settings.auto_confirm,
        feed_silence_s=30.0, crash=crash, telegram=telegram_config(settings, data_dir),
        **({"placement": placement} if placement is not None else {}),
    )  # fmt: skip


def _stop_running(ray: Any) -> None:
    """Stop a detached live system whose driver is gone: the same clean stop as Ctrl-C (feed,
    executor loop, final state flush, then kill), its actors found by name."""
    from actors.system import LiveSystem

    names = set(ray.util.list_named_actors())
    if "fractal-keeper" not in names:
        raise fail(f"no live system runs on this cluster (namespace {LIVE_NAMESPACE!r})", 2)

    def get(name: str) -> Any:
        return ray.get_actor(name) if name in names else None

    runners = {n.removeprefix("fractal-runner-"): ray.get_actor(n)
               for n in names if n.startswith("fractal-runner-")}  # fmt: skip
    system = LiveSystem(None, get("fractal-alerter"), get("fractal-keeper"),  # type: ignore[arg-type]
                        get("fractal-executor"), get("fractal-risk"), runners, get("fractal-feed"),
                        get("fractal-confirm"))  # fmt: skip
    system.stop()
    console.print(f"stopped the live system ({len(runners)} runners) on the cluster")


def _refuse_second_system(ray: Any) -> None:
    """Detached actors outlive a driver: a second `fractal live` on the same cluster would
    trade the same account twice, so it stops here (exit 2) naming the running one."""
    try:
        ray.get_actor("fractal-keeper", namespace=LIVE_NAMESPACE)
    except ValueError:
        return
    raise fail(
        f"a live system already runs on this Ray cluster (namespace {LIVE_NAMESPACE!r}, actor "
        "'fractal-keeper'); stop it first: fractal live --address ADDRESS --stop-running",
        2,
    )


def _monitor(settings: Settings, live_system: Any, run_id: int) -> Any:
    """Heartbeats (actors, bars, websockets) through the StateKeeper every
    HEALTH_INTERVAL_SECONDS: the dashboard's system health and the uptime evidence."""
    from actors.health import HealthMonitor

    return HealthMonitor(live_system, run_id, settings.health_interval_seconds).start()


def _close_monitor(monitor: Any) -> None:
    try:
        monitor.close()
    except Exception as exc:  # the stop goes on; the run's end is recorded anyway
        err_console.print(f"[yellow]last heartbeat not written: {exc}[/yellow]")


def _loop(
    ray: Any, live_system: Any, stop: threading.Event, seconds: float | None, monitor: Any = None
) -> str | None:
    """Print events, relay confirmations, keep the heartbeats, until the stop or the deadline.
    Returns why the system halted on its own (an actor dead for good or in a crash loop)."""
    from actors.confirm import ask

    deadline = None if seconds is None else time.monotonic() + seconds
    seen = 0
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        events, seen = ray.get(live_system.alerter.since.remote(seen))
        for ev in events:
            console.print(_fmt_event(ev), highlight=False)
        if live_system.desk is not None:
            req = ray.get(live_system.desk.next_pending.remote(0.0))
            if req is not None:
                live_system.desk.answer.remote(ask(req, _read_line, write=console.print))
        if monitor is not None and monitor.tick() and monitor.stop_reason():
            why = str(monitor.stop_reason())
            _halt_alert(live_system, why)
            err_console.print(f"[red]CRITICAL: {why}: stopping the live system[/red]")
            return why
        stop.wait(0.2)
    events, seen = ray.get(live_system.alerter.since.remote(seen))
    for ev in events:
        console.print(_fmt_event(ev), highlight=False)
    return None


def _halt_alert(live_system: Any, why: str) -> None:
    """A CRITICAL event to the Alerter (Telegram) and the journal; best effort: the actor that
    should carry it may be the one that is down."""
    from actors.messages import Event, Level

    ev = Event(source="driver", seq=time.time_ns(), level=Level.CRITICAL, kind="system_halt",
               text=f"live system stopping: {why}", time_ms=time.time_ns() // 1_000_000)  # fmt: skip
    for method in (live_system.alerter.send, live_system.keeper.record_event):
        try:
            method.remote(ev)
        except Exception as exc:  # each on its own: one down must not stop the other
            err_console.print(f"[yellow]halt alert not delivered: {exc}[/yellow]")


def _summary(data_dir: Path) -> None:
    from actors.state.status import status

    try:
        st = status(data_dir)
    except Exception as exc:  # the summary is informative only
        err_console.print(f"[yellow]status unavailable: {exc}[/yellow]")
        return
    pnl = st.get("pnl") or {}
    console.print(f"done: {st.get('orders', 0)} orders, {st.get('fills', 0)} fills, "
                  f"{st.get('signals', 0)} signals; P&L {pnl}")  # fmt: skip
