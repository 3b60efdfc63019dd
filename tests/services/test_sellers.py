"""Sellers are learnt from the tokens the gateway accepts: created on first contact, once,
in whichever database the request is served from."""

from __future__ import annotations

from gateway import db
from gateway.models import Seller
from tests.conftest import make_settings, running_gateway


async def _sellers(settings) -> list[str]:
    ctx = await db.open_db(settings)
    try:
        with db.bound(ctx):
            return sorted(await Seller.all().values_list("id", flat=True))
    finally:
        await db.close_db(ctx)


async def test_a_seller_is_created_on_first_contact_and_only_once(tmp_path) -> None:
    settings = make_settings(f"sqlite://{tmp_path / 'one.sqlite3'}", tmp_path)
    with running_gateway(settings) as gateway:
        for _ in range(3):
            assert (await gateway.gql("{ viewer { sellerId } }", seller="seller-new"))["data"]
    assert await _sellers(settings) == ["seller-new"]


async def test_two_databases_in_one_process_each_learn_the_seller(tmp_path) -> None:
    # Two gateways in one process (as the tests and the embedded demo run them): what one
    # database knows must not stand for the other.
    first = make_settings(f"sqlite://{tmp_path / 'first.sqlite3'}", tmp_path / "first")
    second = make_settings(f"sqlite://{tmp_path / 'second.sqlite3'}", tmp_path / "second")
    with running_gateway(first) as one, running_gateway(second) as other:
        for gateway in (one, other):
            assert (await gateway.gql("{ viewer { sellerId } }", seller="seller-s"))["data"]
    assert await _sellers(first) == await _sellers(second) == ["seller-s"]
