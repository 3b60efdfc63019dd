"""Fixtures for the API edge: a gateway on SQLite only.

The HTTP and websocket edge (media types, CORS, frames, tokens) does not depend on the
database, so these tests run once instead of once per backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningGateway, make_settings, migrated_sqlite, running_gateway


@pytest.fixture
def edge_gateway_factory(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., RunningGateway]]:
    """Start gateways on a SQLite file with these settings overrides (a migrated copy: a
    gateway would migrate an empty file on start, ~2 s a test)."""
    import contextlib
    import itertools

    numbers = itertools.count()
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> RunningGateway:
            index = next(numbers)  # one database per gateway
            url = migrated_sqlite(tmp_path_factory, tmp_path / f"edge-{index}.sqlite3")
            settings = make_settings(url, tmp_path, **overrides)
            return stack.enter_context(running_gateway(settings))

        yield start


@pytest.fixture
def edge_gateway(edge_gateway_factory: Callable[..., RunningGateway]) -> RunningGateway:
    return edge_gateway_factory()
