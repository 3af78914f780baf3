"""Runtime configuration from environment variables and `.env` (pydantic-settings).

Why here: `cluster/` wires the system, so it owns configuration and passes plain values
to actors and research code; `strategies/` never reads the environment.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d")
# folders of the checkout that hold code: the program never writes into them
SOURCE_DIRS = ("actors", "strategies", "research", "cluster", "tests", ".git", ".venv")
ENV_FILE = ".env"
DASHBOARD_TOKEN_MIN = 12  # characters: the token guards a page that shows the account


def default_data_dir() -> Path:
    """``<project root>/data`` whatever the working directory (``cd research && fractal run``
    must not write a store into the research package); ``./data`` for a non-editable install."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data"
    return Path("data").resolve()


class Network(StrEnum):
    """Where orders go. The default is the local simulator, never mainnet."""

    PAPER = "paper"
    TESTNET = "testnet"
    MAINNET = "mainnet"


class SymbolStrategy(BaseModel):
    """One symbol's live strategy (``LIVE_SYMBOL_STRATEGIES``)."""

    model_config = ConfigDict(extra="forbid")

    strategy: str
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("strategy")
    @classmethod
    def _known(cls, v: str) -> str:
        return _check_strategy(v)


class Settings(BaseSettings):
    """All user-facing knobs. Invalid values fail at start-up with one message per field."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    network: Network = Network.PAPER
    private_key: SecretStr | None = None
    default_symbol: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9]+$")] = "BTC"
    default_timeframe: str = "15m"
    base_risk_percent: Annotated[Decimal, Field(gt=0, le=10)] = Decimal("1.0")
    max_open_positions: Annotated[int, Field(ge=1, le=100)] = 3
    check_interval_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    # threads of one SMC detection (strategies.smc.set_default_threads); None = every usable core
    fractal_smc_threads: Annotated[int, Field(ge=1, le=64)] | None = None
    fractal_data_dir: Path = Field(default_factory=default_data_dir)
    shared_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"

    @field_validator("network", mode="before")
    @classmethod
    def _any_case(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("fractal_data_dir")
    @classmethod
    def _outside_the_source_tree(cls, v: Path) -> Path:
        path = v.expanduser().resolve()
        for name in SOURCE_DIRS:
            if path.is_relative_to(PROJECT_ROOT / name):
                raise ValueError(
                    f"{path} is inside the source tree ({name}/); the program writes its store, "
                    f"charts and state there: use a folder outside it, e.g. {PROJECT_ROOT / 'data'}"
                )
        return path

    @field_validator("default_timeframe")
    @classmethod
    def _known_timeframe(cls, v: str) -> str:
        if v not in TIMEFRAMES:
            raise ValueError(f"unknown timeframe {v!r}; expected one of {', '.join(TIMEFRAMES)}")
        return v

    @field_validator("private_key")
    @classmethod
    def _hex_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value():
            return None
        raw = v.get_secret_value().removeprefix("0x")
        if len(raw) != 64 or any(ch not in "0123456789abcdefABCDEF" for ch in raw):
            # never echo the value: it is a secret even when malformed
            raise ValueError("must be 64 hex characters (optionally prefixed with 0x)")
        return v

    # ---- CCXT exchanges (issue #20): API keys for `fractal live --venue ...` (secrets) -------
    binance_api_key: SecretStr | None = None
    binance_api_secret: SecretStr | None = None
    bybit_api_key: SecretStr | None = None
    bybit_api_secret: SecretStr | None = None
    okx_api_key: SecretStr | None = None
    okx_api_secret: SecretStr | None = None
    okx_api_password: SecretStr | None = None
    ccxt_leverage: Annotated[int, Field(ge=1, le=100)] = 3  # set per symbol at start

    def ccxt_credentials(self, exchange: str) -> dict[str, SecretStr]:
        """The API credentials of ``exchange`` (ValueError naming the missing variables)."""
        prefix = {"binanceusdm": "binance", "bybit": "bybit", "okx": "okx"}[exchange]
        names = ["api_key", "api_secret"] + (["api_password"] if exchange == "okx" else [])
        got = {n: getattr(self, f"{prefix}_{n}") for n in names}
        missing = [f"{prefix}_{n}".upper() for n, v in got.items()
                   if v is None or not v.get_secret_value()]  # fmt: skip
        if missing:
            raise ValueError(f"{exchange} needs {' and '.join(missing)} (env or --config file)")
        return got

    # ---- alerts and the daily report (issue #19) -------------------------------------------
    telegram_bot_token: SecretStr | None = None  # with TELEGRAM_CHAT_ID: alerts go to Telegram
    telegram_chat_id: str | None = None
    alert_min_level: Literal["INFO", "WARNING", "CRITICAL"] = "INFO"  # CRITICAL always goes out
    alerts_per_hour: Annotated[int, Field(ge=3, le=1000)] = 10  # 2 are reserved for CRITICAL
    alert_disabled_kinds: str = ""  # comma-separated kinds never sent, e.g. "trade_opened"
    daily_report_utc: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "00:05"

    @field_validator("telegram_bot_token", "telegram_chat_id", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("alert_min_level", mode="before")
    @classmethod
    def _upper_level(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v

    @property
    def telegram_configured(self) -> bool:
        """Both the bot token and the chat id are set (else alerts go to the log only)."""
        return self.telegram_bot_token is not None and bool(self.telegram_chat_id)

    @property
    def alert_disabled_kind_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.alert_disabled_kinds.split(",") if k.strip())

    @property
    def market_data_dir(self) -> Path:
        """Shipped real market data (read-only)."""
        return self.shared_data_dir / "market"

    @property
    def store_dir(self) -> Path:
        """Parquet market-data store under the data directory."""
        return self.fractal_data_dir / "store"

    # ---- live system (issue #15: `fractal live`, `fractal run`) --------------------------------
    # Kept in one block so other edits of this class merge cleanly.
    account_address: Annotated[str | None, Field(pattern=r"^0x[0-9a-fA-F]{40}$")] = None
    auto_confirm: bool = False  # mainnet: place orders without the typed CONFIRM (unattended)
    live_strategy: str = "liquidity_sweep"  # default strategy of every live symbol
    live_strategy_params: dict[str, Any] = Field(default_factory=dict)  # JSON: its parameters
    # JSON: symbol -> {"strategy": name, "params": {...}} for symbols that differ from the default
    live_symbol_strategies: dict[str, SymbolStrategy] = Field(default_factory=dict)
    live_warmup_bars: Annotated[int, Field(ge=100, le=5000)] = 1000
    # StrategyRunners per Ray actor (0: all in one; 1: an actor per symbol); unset: all in one
    # on the embedded local Ray, an actor per symbol on a cluster (actors.placement)
    live_runners_per_actor: Annotated[int, Field(ge=0, le=1000)] | None = None
    max_leverage: Annotated[float, Field(gt=0, le=50)] = 2.0  # notional cap, x equity
    # canary cap on one entry's notional in USD (0: off); set it small for a first mainnet run
    max_position_usd: Annotated[float, Field(ge=0, le=1e9)] = 0.0
    state_snapshot_seconds: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    # heartbeat period (wall s): the dashboard's system health and the uptime evidence
    health_interval_seconds: Annotated[float, Field(ge=1, le=3600)] = 10.0
    backup_keep_days: Annotated[int, Field(ge=1, le=3650)] = 7
    paper_speed: Annotated[float, Field(gt=0, le=100_000)] = 60.0  # simulated s per wall s
    paper_start: datetime | None = None  # replay start (UTC); default: the venue's paper start
    paper_equity: Annotated[float, Field(gt=0)] = 10_000.0

    @field_validator("account_address", "paper_start", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("live_strategy")
    @classmethod
    def _known_strategy(cls, v: str) -> str:
        return _check_strategy(v)

    @model_validator(mode="after")
    def _strategy_params_valid(self) -> Settings:
        _check_params(self.live_strategy, self.live_strategy_params, "LIVE_STRATEGY_PARAMS")
        for symbol, cfg in self.live_symbol_strategies.items():
            _check_params(cfg.strategy, cfg.params, f"LIVE_SYMBOL_STRATEGIES[{symbol}]")
        return self

    # ---- portfolio risk and circuit breakers (issue #18) ----------------------------------------
    # Bounds mirror strategies.risk.Limits / portfolio_risk.PortfolioLimits / breakers.Thresholds;
    # tests/breakers/test_risk_settings.py checks every default and bound builds those models.
    max_drawdown_pct: Annotated[float, Field(gt=0, lt=100)] = 10.0  # no new position beyond
    max_symbol_exposure_pct: Annotated[float, Field(gt=0, le=10_000)] = 100.0  # of equity
    max_total_exposure_pct: Annotated[float, Field(gt=0, le=10_000)] = 300.0  # of equity
    correlation_max: Annotated[float, Field(gt=0, le=1)] = 0.8
    correlation_window: Annotated[int, Field(ge=20, le=100_000)] = 500  # bars of the bar size
    correlation_timeframe: str | None = None  # bar size of the returns (default: the timeframe)
    var_method: Literal["historical", "parametric"] = "historical"
    var_confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.99
    var_horizon_bars: Annotated[int, Field(ge=1, le=100_000)] = 96
    var_limit_pct: Annotated[float, Field(gt=0, le=100)] = 5.0  # of equity
    breaker_drawdown_pct: Annotated[float, Field(gt=0, lt=100)] = 10.0
    breaker_loss_streak: Annotated[int, Field(ge=1, le=1000)] = 5
    breaker_atr_multiple: Annotated[float, Field(gt=1, le=100)] = 3.0
    breaker_atr_period: Annotated[int, Field(ge=2, le=1000)] = 14
    breaker_atr_baseline_bars: Annotated[int, Field(ge=20, le=100_000)] = 500
    breaker_exchange_failures: Annotated[int, Field(ge=1, le=1000)] = 3
    breaker_exchange_window_s: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    breaker_close_positions: bool = False  # a trip also closes every position (reduce-only)

    @field_validator("correlation_timeframe", mode="before")
    @classmethod
    def _corr_timeframe(cls, v: object) -> object:
        if isinstance(v, str) and not v.strip():
            return None
        if v is not None and v not in TIMEFRAMES:
            raise ValueError(f"unknown timeframe {v!r}; expected one of {', '.join(TIMEFRAMES)}")
        return v

    @model_validator(mode="after")
    def _windows_fit_the_history(self) -> Settings:
        """The live feed keeps LIVE_WARMUP_BARS bars per symbol: a window longer than that
        could never be filled and every entry would fail closed."""
        tf = _tf_ms(self.default_timeframe)
        corr = _tf_ms(self.correlation_timeframe or self.default_timeframe)
        bad = []
        if corr % tf:
            bad.append(f"CORRELATION_TIMEFRAME {self.correlation_timeframe} is not a multiple of "
                       f"DEFAULT_TIMEFRAME {self.default_timeframe}")  # fmt: skip
        elif (self.correlation_window + 2) * (corr // tf) > self.live_warmup_bars:
            bad.append(f"CORRELATION_WINDOW {self.correlation_window} bars of "
                       f"{self.correlation_timeframe or self.default_timeframe} need "
                       f"{(self.correlation_window + 2) * (corr // tf)} {self.default_timeframe} "
                       f"bars, more than LIVE_WARMUP_BARS {self.live_warmup_bars}")  # fmt: skip
        if self.breaker_atr_baseline_bars + self.breaker_atr_period + 1 > self.live_warmup_bars:
            bad.append(f"BREAKER_ATR_BASELINE_BARS + BREAKER_ATR_PERIOD + 1 is more than "
                       f"LIVE_WARMUP_BARS {self.live_warmup_bars}")  # fmt: skip
        if bad:
            raise ValueError("; ".join(bad))
        return self

    def risk_limits(self) -> Any:
        """strategies.risk.Limits with the portfolio limits, from these settings."""
        from strategies.portfolio_risk import PortfolioLimits
        from strategies.risk import Limits

        return Limits(
            risk_fraction=float(self.base_risk_percent) / 100,
            max_open_positions=self.max_open_positions, max_leverage=self.max_leverage,
            max_position_usd=self.max_position_usd, max_drawdown_pct=self.max_drawdown_pct,
            portfolio=PortfolioLimits(
                max_correlation=self.correlation_max, correlation_window=self.correlation_window,
                var_confidence=self.var_confidence, var_horizon_bars=self.var_horizon_bars,
                var_limit_pct=self.var_limit_pct, var_method=self.var_method,
                max_symbol_exposure_pct=self.max_symbol_exposure_pct,
                max_total_exposure_pct=self.max_total_exposure_pct,
                max_leverage=self.max_leverage,
                max_position_usd=self.max_position_usd or None,
            ),
        )  # fmt: skip

    def breaker_thresholds(self) -> Any:
        """strategies.breakers.Thresholds from these settings."""
        from strategies.breakers import Thresholds

        return Thresholds(
            drawdown_pct=self.breaker_drawdown_pct, loss_streak=self.breaker_loss_streak,
            atr_multiple=self.breaker_atr_multiple, atr_period=self.breaker_atr_period,
            atr_baseline_bars=self.breaker_atr_baseline_bars,
            exchange_failures=self.breaker_exchange_failures,
            exchange_window_s=self.breaker_exchange_window_s,
            close_positions=self.breaker_close_positions,
        )  # fmt: skip

    def strategy_for(self, symbol: str) -> tuple[str, dict[str, Any]]:
        """(strategy name, parameters) that ``symbol`` runs live."""
        cfg = self.live_symbol_strategies.get(symbol)
        if cfg is not None:
            return cfg.strategy, dict(cfg.params)
        return self.live_strategy, dict(self.live_strategy_params)

    # ---- monitoring dashboard (issue #19: `fractal dashboard`) -------------------------------
    # Kept in one block so other edits of this class merge cleanly.
    dashboard_token: SecretStr | None = None  # asked for on the page; the dashboard needs it
    dashboard_refresh_seconds: Annotated[int, Field(ge=5, le=3600)] = 60

    @field_validator("dashboard_token", mode="before")
    @classmethod
    def _token_strength(cls, v: object) -> object:
        if isinstance(v, SecretStr):
            v = v.get_secret_value()
        if isinstance(v, str) and not v.strip():
            return None
        if isinstance(v, str) and len(v.strip()) < DASHBOARD_TOKEN_MIN:
            # never echo the value: it is a secret even when too short
            raise ValueError(f"must be at least {DASHBOARD_TOKEN_MIN} characters")
        return v.strip() if isinstance(v, str) else v


def _tf_ms(tf: str) -> int:
    """``15m`` -> 900000 (the timeframes of TIMEFRAMES)."""
    return int(tf[:-1]) * {"m": 60_000, "h": 3_600_000, "d": 86_400_000}[tf[-1]]


def _check_strategy(name: str) -> str:
    from strategies import registry

    if name not in registry.STRATEGIES or name == "sma_cross":
        known = ", ".join(n for n in registry.names() if n != "sma_cross")
        raise ValueError(f"unknown live strategy {name!r}; expected one of {known}")
    return name


def _check_params(strategy: str, params: dict[str, Any], where: str) -> None:
    from strategies import registry

    try:
        registry.get(strategy).Params.model_validate(params)
    except ValidationError as err:
        bad = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ValueError(f"{where}: bad {strategy} parameters ({bad})") from None


class ConfigError(Exception):
    """Configuration is invalid; the message lists every bad field once."""


def format_validation_error(err: ValidationError) -> str:
    """One line per field, never including the offending input (it may be a secret)."""
    lines = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "settings"
        lines.append(f"  {field.upper()}: {e['msg']}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Load settings, turning pydantic's error into a readable ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        raise ConfigError(format_validation_error(err)) from None


def env_file_warnings(path: str | Path = ENV_FILE) -> list[str]:
    """Keys in ``.env`` that are not settings but look like one (a close spelling, or the
    same first word as one of ours): pydantic-settings ignores them silently, so a typo such
    as ``NETWRK=mainnet`` would otherwise leave the default in force without a word."""
    from dotenv import dotenv_values

    path = Path(path)
    if not path.is_file():
        return []
    ours = [name.upper() for name in Settings.model_fields]
    prefixes = {name.split("_")[0] for name in ours}
    out = []
    for key in dotenv_values(path):
        upper = key.strip().upper()
        if not upper or upper in ours:
            continue
        close = difflib.get_close_matches(upper, ours, n=1, cutoff=0.75)
        if close:
            out.append(f"{path}: unknown key {key} ignored (did you mean {close[0]}?)")
        elif upper.split("_")[0] in prefixes:
            out.append(f"{path}: unknown key {key} ignored (settings: {', '.join(ours)})")
    return out
