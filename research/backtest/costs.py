"""Trading-cost configuration: fees, slippage, funding, margin. Costs are ON by default.

Defaults are Hyperliquid tier-0 perps (docs/hyperliquid.md §11): 0.045 % taker, 0.015 % maker,
maintenance margin 1 / (2 x max leverage).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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

    @property
    def maintenance_rate(self) -> float:
        """Hyperliquid: maintenance margin is half the initial margin at max leverage."""
        return 1.0 / (2.0 * self.max_leverage)

    @classmethod
    def zero(cls) -> CostModel:
        """No fees, no slippage, no funding (for parity tests against other engines)."""
        return cls(taker_fee=0.0, maker_fee=0.0, slippage_bps=0.0, funding=False)
