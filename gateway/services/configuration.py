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
    return await _set(
        principal, "sync_unit_prices", enabled, UPDATED, "Sync unit prices to HaloPSA"
    )


async def set_daily_drift_check(principal: Principal, enabled: bool) -> ConfigurationView:
    """Turn the daily drift check (after the 18:00 UTC subscriptions sync) on or off."""
    return await _set(
        principal, "daily_drift_check", enabled, DRIFT_CHECK_UPDATED, "Daily drift check"
    )


async def _set(
    principal: Principal, field: str, enabled: bool, message: str, label: str
) -> ConfigurationView:
    """Change one switch of the seller and log it (``label``: the switch in the log entry)."""
    # One transaction: the setting never changes without its log entry, or the reverse.
    async with in_transaction(current_connection_name()):
        await Seller.filter(id=principal.seller_id).update(**{field: enabled})
        await product_log.record(
            principal.seller_id,
            LogLevel.INFO,
            message.rstrip("."),
            product_log.format_details(
                **{"Reseller ID": principal.seller_id},
                **{label: "On" if enabled else "Off"},
                By=principal.subject,
            ),
        )
    seller = await Seller.get_or_none(id=principal.seller_id)
    values = {
        "sync_unit_prices": seller.sync_unit_prices if seller else False,
        "daily_drift_check": seller.daily_drift_check if seller else False,
    }
    return ConfigurationView(**{**values, field: enabled})
