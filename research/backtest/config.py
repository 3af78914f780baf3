"""Engine settings (sizing, cash, order lifetime) as a strict pydantic model.

Unknown keys are rejected (`extra="forbid"`), so a typo in a parameter is an error, not a
silently ignored default.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from research.backtest import engine as k
from research.backtest.costs import CostModel
from research.backtest.margin import maintenance_schedule
from strategies.sizing import SIZING_MODES


class BacktestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_cash: float = Field(default=10_000.0, gt=0)
    sizing: Literal["risk", "fraction", "all_in"] = "risk"
    risk_percent: float = Field(
        default=1.0, gt=0, le=100, description="BASE_RISK_PERCENT: equity lost if the stop fills"
    )
    fraction: float = Field(
        default=0.1, gt=0, le=200, description="notional / equity in fraction mode"
    )
    leverage: float = Field(
        default=1.0, gt=0, le=200, description="cap: notional <= leverage x equity"
    )
    size_step: float = Field(
        default=0.0, ge=0, description="round sizes down to this lot (0 = exact)"
    )
    entry_ttl: int = Field(
        default=1, ge=1, le=1_000_000, description="bars a limit/stop entry rests"
    )
    close_at_end: bool = Field(default=True, description="close an open position at the last close")
    costs: CostModel = Field(default_factory=lambda: CostModel())

    @model_validator(mode="after")
    def _leverage_within_max(self) -> BacktestConfig:
        if self.leverage > self.costs.max_leverage:
            raise ValueError(
                f"leverage {self.leverage} exceeds the asset's max leverage "
                f"{self.costs.max_leverage}"
            )
        return self

    def for_market(self, venue: str | None, symbol: str | None) -> BacktestConfig:
        """This config with the venue's own margin for ``symbol``: on Hyperliquid each perp has
        its max leverage and margin tiers (DOGE 10x, BTC 40x, ...), so a backtest liquidates
        where the venue would. Other venues, or a coin without a table, keep the config as is.
        A ``leverage`` above the coin's maximum is refused (ValueError naming both)."""
        from research.backtest.margin import HYPERLIQUID_TIERS, canonical_symbol

        if venue != "hyperliquid" or not symbol:
            return self
        try:
            coin = canonical_symbol("hyperliquid", symbol)
        except ValueError:
            return self
        if coin not in HYPERLIQUID_TIERS:
            return self
        kept = self.costs.model_dump(exclude={"max_leverage", "margin_tiers"})
        costs = CostModel.for_symbol(coin, **kept)
        if self.leverage > costs.max_leverage:
            raise ValueError(
                f"leverage {self.leverage} exceeds {coin}'s max leverage {costs.max_leverage} "
                "on Hyperliquid"
            )
        return self.model_copy(update={"costs": costs})

    def vector(self) -> np.ndarray:
        """The float64 layout the numba core reads (see engine.C_*)."""
        v = np.zeros(k.N_CFG)
        v[k.C_CASH] = self.initial_cash
        v[k.C_TAKER] = self.costs.taker_fee
        v[k.C_MAKER] = self.costs.maker_fee
        v[k.C_SLIP] = self.costs.slippage_bps / 1e4
        v[k.C_MODE] = SIZING_MODES[self.sizing]
        v[k.C_RISK] = self.risk_percent / 100.0
        v[k.C_FRAC] = self.fraction
        v[k.C_LEV] = self.leverage
        v[k.C_STEP] = self.size_step
        v[k.C_MM] = self.costs.maintenance_rate
        v[k.C_TTL] = self.entry_ttl
        v[k.C_END] = 1.0 if self.close_at_end else 0.0
        tiers = self.costs.tiers
        rates, deductions = maintenance_schedule(tiers)
        m = len(tiers)
        v[k.C_NT] = m
        v[k.C_TB : k.C_TB + m] = [b for b, _ in tiers]
        v[k.C_TR : k.C_TR + m] = rates
        v[k.C_TD : k.C_TD + m] = deductions
        v[k.C_TL : k.C_TL + m] = [lev for _, lev in tiers]
        return v
