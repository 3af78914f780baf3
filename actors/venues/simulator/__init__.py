"""Loopback Hyperliquid simulator: the unmodified hyperliquid-python-sdk trades against it.

from actors.venues.simulator import SimulatorConfig, run_simulator
cfg = SimulatorConfig(symbols=["BTC"], accounts={addr: 10_000.0}, market_dir=market_dir)
with run_simulator(cfg) as sim:
    Info(sim.base_url, skip_ws=True)
"""

from actors.venues.simulator.config import SimulatorConfig
from actors.venues.simulator.server import Simulator, run_simulator

__all__ = ["Simulator", "SimulatorConfig", "run_simulator"]
