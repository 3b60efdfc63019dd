"""Sellers are the platform's; the gateway learns them from the tokens it accepts."""

from __future__ import annotations

import weakref

from tortoise.context import require_context

from gateway.models import Seller

# Sellers known to exist, per database context (a new database starts empty): saves a
# query per request.
_known: weakref.WeakKeyDictionary[object, set[str]] = weakref.WeakKeyDictionary()


async def ensure_seller(seller_id: str) -> None:
    known = _known.setdefault(require_context(), set())
    if seller_id in known:
        return
    await Seller.get_or_create(id=seller_id)
    known.add(seller_id)
