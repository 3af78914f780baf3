"""Trading-cost configuration: fees, slippage, funding, margin. Costs are ON by default.

Defaults are Hyperliquid tier-0 perps (docs/hyperliquid.md §11): 0.045 % taker, 0.015 % maker,
maintenance margin 1 / (2 x max leverage). The default max leverage is BTC's (40x): for any
other asset use `CostModel.for_symbol(...)`, which takes the asset's margin table (max
leverage and tiers, research/backtest/margin.py) so it is liquidated where the venue would.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from research.backtest.booking import MAX_TIERS
from research.backtest.margin import Tiers, check_tiers, hyperliquid_tiers


class CostModel(BaseModel):
    """Fees as fractions of notional; slippage against the trader on market/stop fills."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    taker_fee: float = Field(default=0.00045, ge=0, le=0.01, description="market/stop fills")
    maker_fee: float = Field(default=0.00015, ge=-0.001, le=0.01, description="resting limit fills")
    slippage_bps: float = Field(default=1.0, ge=0, le=1000, description="fixed, in basis points")
    slippage_atr: float = Field(
        default=0.0,
        ge=0,
        le=10,
        description="extra slippage as a fraction of ATR(14) at the signal bar",
    )
    funding: bool = Field(default=True, description="apply hourly funding prints when available")
    max_leverage: float = Field(
        default=40.0, gt=0, le=200, description="the asset's max leverage; sets maintenance margin"
    )
    margin_tiers: Tiers = Field(
        default=(),
        description="((notional lower bound, max leverage), ...) from 0 up; () = one tier at "
        "max_leverage",
    )

    @model_validator(mode="after")
    def _tiers_agree(self) -> CostModel:
        if self.margin_tiers:
            check_tiers(self.margin_tiers)
            if len(self.margin_tiers) > MAX_TIERS:
                raise ValueError(f"at most {MAX_TIERS} margin tiers, got {len(self.margin_tiers)}")
            if self.margin_tiers[0][1] != self.max_leverage:
                raise ValueError(
                    f"max_leverage {self.max_leverage} differs from the first margin tier's "
                    f"{self.margin_tiers[0][1]}"
                )
        return self

    @property
    def tiers(self) -> Tiers:
        """The margin table, one tier at max_leverage when none was given."""
        return self.margin_tiers or ((0.0, self.max_leverage),)

    @classmethod
    def for_symbol(cls, symbol: str, **overrides: Any) -> CostModel:
        """Costs for a shipped Hyperliquid perp with its own max leverage and margin tiers
        (e.g. DOGE: 10x up to 20M notional, 5x above; BTC: 40x, 20x above 150M)."""
        tiers = hyperliquid_tiers(symbol)
        return cls(**{"max_leverage": tiers[0][1], "margin_tiers": tiers, **overrides})

    @property
    def maintenance_rate(self) -> float:
        """Hyperliquid: maintenance margin is half the initial margin at max leverage."""
        return 1.0 / (2.0 * self.max_leverage)

    @classmethod
    def zero(cls) -> CostModel:
        """No fees, no slippage, no funding (for parity tests against other engines)."""
        return cls(taker_fee=0.0, maker_fee=0.0, slippage_bps=0.0, funding=False)
