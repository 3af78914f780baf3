"""What an actor needs to build a CCXT venue client: a frozen, picklable spec (like VenueSpec).

Why a separate spec: Hyperliquid signs with a wallet key and an account address; the CCXT
exchanges use an API key/secret (OKX also a passphrase). Secrets are ``SecretStr`` (``repr`` and
logs show ``**********``). ``network`` is never defaulted (failure_modes F21): ``testnet`` selects
ccxt's sandbox URLs, ``mainnet`` the production ones, ``loopback`` a local test server given by
``base_url`` (127.0.0.1 only).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

CcxtExchange = Literal["binanceusdm", "bybit", "okx"]
CCXT_EXCHANGES: tuple[str, ...] = ("binanceusdm", "bybit", "okx")
_LOOPBACK = re.compile(r"^http://127\.0\.0\.1:\d{1,5}$")


class CcxtSpec(BaseModel):
    """One CCXT account on one network; frozen and picklable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["ccxt"] = "ccxt"
    exchange: CcxtExchange
    network: Literal["loopback", "testnet", "mainnet"]
    api_key: SecretStr
    secret: SecretStr
    password: SecretStr | None = None  # OKX passphrase
    symbols: tuple[str, ...] = Field(min_length=1)  # coins traded: leverage set, fills read
    leverage: int = Field(default=3, ge=1, le=100)
    base_url: str | None = None  # loopback only
    timeout_s: float = Field(default=10.0, gt=0)
    clock_speed: float = Field(default=1.0, gt=0)  # loopback replay speed

    @model_validator(mode="after")
    def _consistent(self) -> CcxtSpec:
        if (self.network == "loopback") != (self.base_url is not None):
            raise ValueError("base_url is required for network 'loopback' and only there")
        if self.base_url is not None and not _LOOPBACK.fullmatch(self.base_url):
            raise ValueError(
                f"loopback base_url must be http://127.0.0.1:PORT, got {self.base_url!r}"
            )
        if self.network != "loopback" and self.clock_speed != 1.0:
            raise ValueError("clock_speed applies to the loopback only")
        if self.exchange == "okx" and not self.password:
            raise ValueError("okx needs its API passphrase (OKX_API_PASSWORD)")
        if not self.api_key.get_secret_value() or not self.secret.get_secret_value():
            raise ValueError(f"{self.exchange} needs an API key and secret")
        return self
