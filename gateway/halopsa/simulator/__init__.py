"""A HaloPSA simulator for the demo, the tests and the benchmarks (see state.py, app.py)."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.halopsa.simulator.app import SimulatorApp, create_simulator_app
from gateway.halopsa.simulator.state import DEFAULT_INSTANCE, Faults, Instance, SimulatorState

__all__ = [
    "DEFAULT_INSTANCE",
    "Faults",
    "Instance",
    "SimulatorApp",
    "SimulatorState",
    "create_simulator_app",
    "run_simulator",
    "state_from_seed_file",
]


def state_from_seed_file(path: Path) -> SimulatorState:
    """``{"instances": [{"name", "client_id", "client_secret", "tenant", "clients": [...]}]}``"""
    data = json.loads(path.read_text(encoding="utf-8"))
    state = SimulatorState()
    for spec in data.get("instances", []):
        instance = state.add_instance(
            spec.get("name", DEFAULT_INSTANCE),
            client_id=spec.get("client_id", "halo-client"),
            client_secret=spec.get("client_secret", "halo-secret"),
            tenant=spec.get("tenant"),
        )
        for client in spec.get("clients", []):
            instance.add_client(client["name"], inactive=client.get("inactive", False))
    return state


def run_simulator(host: str = "127.0.0.1", port: int = 8900, seed_file: Path | None = None) -> None:
    import uvicorn

    state = state_from_seed_file(seed_file) if seed_file else None
    if state is None:
        state = SimulatorState()
        state.add_instance()
    print(
        f"HaloPSA simulator on http://{host}:{port} — resource server /api, "
        f"authorisation server /auth; admin at /_sim/state"
    )
    uvicorn.run(create_simulator_app(state), host=host, port=port, log_level="warning")
