"""The seed's "Configuration Settings": whether prices are sent as totals or unit prices.

The value is read when a run starts (``SyncRun.sync_unit_prices``), so a change affects only
syncs that start after it and never what is already in HaloPSA.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from gateway.auth import Principal
from gateway.db import current_connection_name
from gateway.messages import MessageCode
from gateway.models import LogLevel, Seller
from gateway.services import logs as product_log
from gateway.services.logs import Detail

UPDATED = "Sync price setting updated."


@dataclass(frozen=True)
class ConfigurationView:
    sync_unit_prices: bool


async def get_configuration(seller_id: str) -> ConfigurationView:
    seller = await Seller.get(id=seller_id)
    return ConfigurationView(sync_unit_prices=seller.sync_unit_prices)


async def set_sync_unit_prices(principal: Principal, enabled: bool) -> ConfigurationView:
    # One transaction: the setting never changes without its log entry, or the reverse.
    async with in_transaction(current_connection_name()):
        await Seller.filter(id=principal.seller_id).update(sync_unit_prices=enabled)
        await product_log.record(
            principal.seller_id,
            LogLevel.INFO,
            UPDATED.rstrip("."),
            product_log.details_line(
                MessageCode.CONFIGURATION_UPDATED,
                product_log.reseller(principal.seller_id),
                Detail(
                    "syncUnitPrices",
                    "Sync unit prices to HaloPSA",
                    enabled,
                    shown="On" if enabled else "Off",
                ),
                product_log.by(principal.subject),
            ),
        )
    return ConfigurationView(sync_unit_prices=enabled)
