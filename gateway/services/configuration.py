"""The seed's "Configuration Settings": whether prices are sent as totals or unit prices,
and whether a drift check runs every day after the 18:00 UTC push.

The unit-price value is read when a run starts (``SyncRun.sync_unit_prices``), so a change
affects only syncs that start after it and never what is already in HaloPSA.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from gateway.auth import Principal
from gateway.db import current_connection_name
from gateway.models import LogLevel, Seller
from gateway.services import logs as product_log

UPDATED = "Sync price setting updated."
DRIFT_CHECK_UPDATED = "Daily drift check setting updated."


@dataclass(frozen=True)
class ConfigurationView:
    sync_unit_prices: bool
    daily_drift_check: bool = False


async def get_configuration(seller_id: str) -> ConfigurationView:
    seller = await Seller.get(id=seller_id)
    return ConfigurationView(
        sync_unit_prices=seller.sync_unit_prices, daily_drift_check=seller.daily_drift_check
    )


async def set_sync_unit_prices(principal: Principal, enabled: bool) -> ConfigurationView:
    # One transaction: the setting never changes without its log entry, or the reverse.
    async with in_transaction(current_connection_name()):
        await Seller.filter(id=principal.seller_id).update(sync_unit_prices=enabled)
        await product_log.record(
            principal.seller_id,
            LogLevel.INFO,
            UPDATED.rstrip("."),
            product_log.format_details(
                **{"Reseller ID": principal.seller_id},
                **{"Sync unit prices to HaloPSA": "On" if enabled else "Off"},
                By=principal.subject,
            ),
        )
    return await _view(principal.seller_id, sync_unit_prices=enabled)


async def set_daily_drift_check(principal: Principal, enabled: bool) -> ConfigurationView:
    """Turn the daily drift check (after the 18:00 UTC subscriptions sync) on or off."""
    async with in_transaction(current_connection_name()):
        await Seller.filter(id=principal.seller_id).update(daily_drift_check=enabled)
        await product_log.record(
            principal.seller_id,
            LogLevel.INFO,
            DRIFT_CHECK_UPDATED.rstrip("."),
            product_log.format_details(
                **{"Reseller ID": principal.seller_id},
                **{"Daily drift check": "On" if enabled else "Off"},
                By=principal.subject,
            ),
        )
    return await _view(principal.seller_id, daily_drift_check=enabled)


async def _view(seller_id: str, **changed: bool) -> ConfigurationView:
    """The configuration after a change (the changed value as set, the others as stored)."""
    seller = await Seller.get_or_none(id=seller_id)
    values = {
        "sync_unit_prices": seller.sync_unit_prices if seller else False,
        "daily_drift_check": seller.daily_drift_check if seller else False,
    }
    return ConfigurationView(**{**values, **changed})
