"""Shared fixtures: real databases (SQLite and PostgreSQL), real Redis, real HTTP.

* ``db_backend`` is parametrised over ``sqlite`` and ``postgres``: every test that asks for
  ``settings`` (directly or through ``gateway``) runs against both. ``TEST_DATABASES`` narrows
  it (e.g. ``TEST_DATABASES=sqlite`` for a quick local loop); CI runs both. A test marked
  ``@pytest.mark.databases("postgres")`` runs on the backends it names only.
* PostgreSQL tests get a fresh database each (created from the ``test`` database on
  127.0.0.1:5432, dropped afterwards); Redis tests get a fresh key namespace. Missing
  services fail the tests in CI instead of skipping them.
* ``gateway`` runs the real ASGI app under uvicorn on a free port in a background thread,
  with its lifespan (migrations, DB, bus, broker, embedded worker).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.fernet import Fernet

from gateway import db
from gateway.auth import mint_token
from gateway.settings import Environment, Settings
from tests.support.data import SIM_CLIENT_ID, SIM_CLIENT_SECRET
from tests.support.postgres_pool import PostgresPool
from tests.support.servers import serve_in_thread

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
POSTGRES_HOST = os.environ.get("TEST_POSTGRES_HOST", "postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789"


def _selected_backends() -> list[str]:
    raw = os.environ.get("TEST_DATABASES", "sqlite,postgres")
    return [b.strip() for b in raw.split(",") if b.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        backends = _selected_backends()
        # @pytest.mark.databases("postgres"): a test only meaningful on some backends
        # (e.g. several worker processes writing at once).
        only = metafunc.definition.get_closest_marker("databases")
        if only is not None:
            backends = [b for b in backends if b in only.args]
        metafunc.parametrize("db_backend", backends, scope="function")


# Migrated templates, one per backend and test process: a test's database is a copy of one
# (a file copy; CREATE DATABASE … TEMPLATE, made ahead by tests/support/postgres_pool.py),
# because applying every migration costs ~2 s a test and a copy ~0.3 s at most. Tests marked
# ``empty_database`` get a database with nothing applied (the migration tests).
_sqlite_template: Path | None = None


def migrated_sqlite(factory: pytest.TempPathFactory, path: Path) -> str:
    """A migrated SQLite database at ``path`` (a copy of this process's template); its URL.

    Callable from sync and async code alike: the template is migrated once, on a thread of
    its own with its own event loop."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = factory.mktemp("template-db")
        template = folder / "gateway.sqlite3"
        settings = make_settings(f"sqlite://{template}", folder)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, db.migrate(settings)).result()
        _sqlite_template = template
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite://{path}"


_postgres: PostgresPool | None = None


def postgres_pool() -> PostgresPool:
    """This test process's PostgreSQL databases (made on first use, closed at the end)."""
    global _postgres
    if _postgres is None:

        async def migrate(name: str) -> None:
            await db.migrate(make_settings(f"postgres://{POSTGRES_HOST}/{name}", Path("/tmp")))

        _postgres = PostgresPool(POSTGRES_ADMIN_DSN, migrate)
    return _postgres


@pytest.fixture(scope="session", autouse=True)
def _close_postgres_pool() -> Iterator[None]:
    yield
    if _postgres is not None:
        _postgres.close()


@pytest_asyncio.fixture
async def database_url(
    db_backend: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> AsyncIterator[str]:
    empty = request.node.get_closest_marker("empty_database") is not None
    if db_backend == "sqlite":
        path = tmp_path / "gateway.sqlite3"
        yield f"sqlite://{path}" if empty else migrated_sqlite(tmp_path_factory, path)
        return
    pool = postgres_pool()
    name = pool.take(empty=empty)
    yield f"postgres://{POSTGRES_HOST}/{name}"
    pool.give_back(name)


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": Environment.TEST,
        "database_url": database_url,
        "data_dir": data_dir,
        "redis_url": None,
        "jwt_secret": TEST_JWT_SECRET,
        "secrets_key": Fernet.generate_key().decode(),
        "embedded_worker_threads": 2,
        "in_process_scheduler": False,
        "log_level": "INFO",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def redis_namespace() -> str:
    return f"halo-test-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture
async def migrated_db(settings: Settings) -> AsyncIterator[Settings]:
    """A migrated database with a Tortoise context bound to the test's own loop."""
    await db.migrate(settings)
    ctx = await db.open_db(settings)
    with db.bound(ctx):
        yield settings
    await db.close_db(ctx)


@dataclass
class RunningGateway:
    base_url: str
    settings: Settings
    app: Any

    def token(self, seller_id: str = "seller-a", role: str = "SELLER_ADMIN") -> str:
        # Minted per call: tests travel in time, a cached token would expire under them.
        return mint_token(self.settings, seller_id=seller_id, roles=[role])

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        seller: str | None = "seller-a",
        role: str = "SELLER_ADMIN",
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif seller is not None:
            headers["Authorization"] = f"Bearer {self.token(seller, role)}"
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        assert response.status_code == 200, response.text
        return response.json()


@contextlib.contextmanager
def running_gateway(settings: Settings, **app_kwargs: Any) -> Iterator[RunningGateway]:
    """A real gateway (uvicorn, lifespan and all) for the duration of the block."""
    from gateway.app import create_app
    from gateway.cli import uvicorn_options

    app = create_app(settings, **app_kwargs)
    # Served as `halo-gateway serve` serves it (websocket protocol, no permessage-deflate).
    with serve_in_thread(app, **uvicorn_options(settings)) as base_url:
        yield RunningGateway(base_url=base_url, settings=settings, app=app)


@pytest.fixture
def gateway_factory(database_url: str) -> Iterator[Any]:
    """Start gateways with given settings; they stop before the test database is dropped."""
    with contextlib.ExitStack() as stack:
        yield lambda settings, **kw: stack.enter_context(running_gateway(settings, **kw))


@pytest.fixture
def gateway(gateway_factory: Any, settings: Settings) -> RunningGateway:
    return gateway_factory(settings)


def assert_error_code(result: dict[str, Any], code: str) -> dict[str, Any]:
    """The first GraphQL error has this ``extensions.code``; returns the error."""
    errors = result.get("errors") or []
    assert errors, f"expected a {code} error, got {result}"
    assert errors[0].get("extensions", {}).get("code") == code, errors
    return errors[0]


@dataclass
class RunningSimulator:
    base_url: str
    state: Any

    def instance(self, name: str = "default") -> Any:
        return self.state.instance(name)

    def urls(self, name: str = "default") -> tuple[str, str]:
        prefix = "" if name == "default" else f"/{name}"
        return f"{self.base_url}{prefix}/api", f"{self.base_url}{prefix}/auth"


@pytest.fixture
def halo_sim() -> Iterator[RunningSimulator]:
    """The HaloPSA simulator over real HTTP, with a default instance and no rate limit."""
    from gateway.halopsa.simulator import SimulatorState, create_simulator_app

    state = SimulatorState()
    state.add_instance("default", client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET)
    state.instance().set_faults(rate_limit=None)
    with serve_in_thread(create_simulator_app(state)) as base_url:
        yield RunningSimulator(base_url=base_url, state=state)
