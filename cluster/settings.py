"""Runtime configuration from environment variables and `.env` (pydantic-settings).

Why here: `cluster/` wires the system, so it owns configuration and passes plain values
to actors and research code; `strategies/` never reads the environment.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d")


class Network(StrEnum):
    """Where orders go. The default is the local simulator, never mainnet."""

    PAPER = "paper"
    TESTNET = "testnet"
    MAINNET = "mainnet"


class Settings(BaseSettings):
    """All user-facing knobs. Invalid values fail at start-up with one message per field."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
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
    fractal_data_dir: Path = Path("data")
    shared_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"

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

    @property
    def market_data_dir(self) -> Path:
        """Shipped real market data (read-only)."""
        return self.shared_data_dir / "market"

    @property
    def store_dir(self) -> Path:
        """Parquet market-data store under the data directory."""
        return self.fractal_data_dir / "store"


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
