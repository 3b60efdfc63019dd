"""One Tortoise context per database, bound per task: two databases can live side by side in
one process (the embedded demo's gateway and worker), and concurrent requests sharing one
context never undo each other's binding."""

from __future__ import annotations

import asyncio

from gateway import db
from gateway.models import Seller
from tests.conftest import make_settings


async def _opened(tmp_path, name: str):
    settings = make_settings(f"sqlite://{tmp_path / f'{name}.sqlite3'}", tmp_path)
    await db.migrate(settings)
    return await db.open_db(settings)


async def test_tasks_bound_to_two_databases_each_write_to_their_own(tmp_path) -> None:
    first, second = await _opened(tmp_path, "first"), await _opened(tmp_path, "second")

    async def write(ctx, seller_id: str) -> None:
        with db.bound(ctx):
            for i in range(5):
                await Seller.create(id=f"{seller_id}-{i}")
                await asyncio.sleep(0)  # let the other task run in between

    try:
        await asyncio.gather(write(first, "one"), write(second, "two"))
        for ctx, prefix in ((first, "one"), (second, "two")):
            with db.bound(ctx):
                ids = await Seller.all().values_list("id", flat=True)
            assert sorted(ids) == [f"{prefix}-{i}" for i in range(5)]
    finally:
        await db.close_db(first)
        await db.close_db(second)


async def test_concurrent_requests_sharing_a_context_each_keep_their_binding(tmp_path) -> None:
    ctx = await _opened(tmp_path, "shared")
    entered = asyncio.Event()

    async def request(seller_id: str, leave_first: bool) -> str:
        with db.bound(ctx):
            if leave_first:
                await entered.wait()  # the other request is inside too
            else:
                entered.set()
                await asyncio.sleep(0)
            await Seller.create(id=seller_id)
            return db.current_connection_name()

    try:
        names = await asyncio.gather(request("a", True), request("b", False))
        assert names == ["sqlite", "sqlite"]
        with db.bound(ctx):
            assert sorted(await Seller.all().values_list("id", flat=True)) == ["a", "b"]
    finally:
        await db.close_db(ctx)
