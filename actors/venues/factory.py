"""How an actor reaches its venue: a picklable :class:`VenueSpec` and :func:`make_venue`.

Why a spec rather than a client: Ray actors run in other processes, so the driver passes this
small validated model and each actor builds its own SDK client from it. The network never has a
default (failure_modes F21): paper, testnet and mainnet are spelled out, and the base URL must be
the SDK's constant for that network (a trailing slash would sign as testnet, ``None`` would reach
mainnet) or a loopback URL in paper mode. The secret is a ``SecretStr``: ``repr``/``str`` and
logs show ``**********``; only the signer reads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from actors.venues.base import Venue
from actors.venues.ccxt_spec import CcxtSpec

NETWORK_URLS = {"testnet": TESTNET_API_URL, "mainnet": MAINNET_API_URL}
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$")


class VenueSpec(BaseModel):
    """Everything needed to build one venue client; frozen and picklable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["paper", "hyperliquid"]
    network: Literal["paper", "testnet", "mainnet"]
    base_url: str
    account_address: str  # the main account: every query reads it (never the agent's)
    secret_key: SecretStr  # agent wallet or main key; never logged, never persisted by us
    nonce_path: Path | None = None  # monotonic nonce high-water mark of this signer
    timeout_s: float = Field(default=10.0, gt=0)  # HTTP timeout; past it the outcome is unknown
    slippage: float = Field(default=0.05, gt=0, lt=0.5)  # market/trigger IOC price bound
    clock_speed: float = Field(default=1.0, gt=0)  # paper: simulated seconds per wall second
    # paper: wall seconds between reads of the replay clock (extrapolated at clock_speed in
    # between); 0 reads it on every call (a manual clock, which only moves when stepped)
    clock_resync_s: float = Field(default=5.0, ge=0)

    @field_validator("account_address")
    @classmethod
    def _address(cls, v: str) -> str:
        if not _ADDRESS.fullmatch(v):
            raise ValueError(f"account_address must be 0x + 40 hex digits, got {v!r}")
        return v.lower()

    @field_validator("secret_key")
    @classmethod
    def _key(cls, v: SecretStr) -> SecretStr:
        if not _KEY.fullmatch(v.get_secret_value()):
            raise ValueError("secret_key must be 64 hex digits (optionally 0x-prefixed)")
        return v

    @model_validator(mode="after")
    def _network_matches(self) -> VenueSpec:
        if (self.kind == "paper") != (self.network == "paper"):
            raise ValueError(f"kind {self.kind!r} does not match network {self.network!r}")
        if self.network == "paper":
            if not _LOOPBACK.fullmatch(self.base_url):
                raise ValueError(
                    f"paper base_url must be a loopback http URL without a trailing slash, "
                    f"got {self.base_url!r}"
                )
        elif self.base_url != NETWORK_URLS[self.network]:
            raise ValueError(
                f"{self.network} base_url must be exactly {NETWORK_URLS[self.network]!r}, "
                f"got {self.base_url!r}"
            )
        if self.network != "paper" and self.clock_speed != 1.0:
            raise ValueError("clock_speed applies to paper only")
        return self

    @classmethod
    def hyperliquid(
        cls,
        *,
        network: Literal["testnet", "mainnet"],
        account_address: str,
        secret_key: str | SecretStr,
        nonce_path: Path | None,
        timeout_s: float = 10.0,
    ) -> VenueSpec:
        """A Hyperliquid spec with the SDK's URL for ``network`` (which must be given)."""
        return cls(
            kind="hyperliquid",
            network=network,
            base_url=NETWORK_URLS[network],
            account_address=account_address,
            secret_key=SecretStr(str(secret_key)) if isinstance(secret_key, str) else secret_key,
            nonce_path=nonce_path,
            timeout_s=timeout_s,
        )


def make_venue(spec: VenueSpec | CcxtSpec) -> Venue:
    """Build the client for ``spec``; checks the main account at start (raises VenueError)."""
    if isinstance(spec, CcxtSpec):
        from actors.venues.ccxt_venue import CcxtVenue

        return CcxtVenue(spec)
    from actors.venues.hyperliquid import HyperliquidVenue

    return HyperliquidVenue(spec)
