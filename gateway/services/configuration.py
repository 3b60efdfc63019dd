"""The seed's "Configuration Settings": whether prices are sent as totals or unit prices,
the safety valve's limits, and whether a drift check runs every day after the 18:00 UTC push.

Unit prices are read when a run starts (``SyncRun.sync_unit_prices``), so a change affects
only syncs that start after it and never what is already in HaloPSA. The safety valve's
limits (``gateway.services.sync.valve``) are read by each subscriptions run before it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from gateway.auth import Principal
from gateway.db import current_connection_name
from gateway.errors import BadUserInput
from gateway.messages import MessageCode
from gateway.models import LogLevel, Seller
from gateway.services import logs as product_log
from gateway.services.logs import Detail
from gateway.services.sync.valve import (
    MAX_DEACTIVATIONS,
    MAX_DROP_PERCENT,
    MIN_DEACTIVATIONS,
    MIN_DROP_PERCENT,
    ValveSettings,
)

UPDATED = "Sync price setting updated."
VALVE_UPDATED = "Safety valve updated."
DRIFT_CHECK_UPDATED = "Daily drift check setting updated."


@dataclass(frozen=True)
class ConfigurationView:
    sync_unit_prices: bool
    safety_valve: ValveSettings
    daily_drift_check: bool = False


def _view(seller: Seller) -> ConfigurationView:
    return ConfigurationView(
        sync_unit_prices=seller.sync_unit_prices,
        safety_valve=ValveSettings(
            seller.valve_enabled, seller.valve_max_drop_percent, seller.valve_max_deactivations
        ),
        daily_drift_check=seller.daily_drift_check,
    )


async def get_configuration(seller_id: str) -> ConfigurationView:
    return _view(await Seller.get(id=seller_id))


async def set_safety_valve(
    principal: Principal,
    *,
    enabled: bool | None = None,
    max_drop_percent: int | None = None,
    max_deactivations: int | None = None,
) -> ConfigurationView:
    """Change the safety valve's limits (those given); applies to runs that start after."""
    if max_drop_percent is not None and not (
        MIN_DROP_PERCENT <= max_drop_percent <= MAX_DROP_PERCENT
    ):
        raise BadUserInput(
            f"maxDropPercent must be between {MIN_DROP_PERCENT} and {MAX_DROP_PERCENT}.",
            field="maxDropPercent",
        )
    if max_deactivations is not None and not (
        MIN_DEACTIVATIONS <= max_deactivations <= MAX_DEACTIVATIONS
    ):
        raise BadUserInput(
            f"maxDeactivations must be between {MIN_DEACTIVATIONS} and {MAX_DEACTIVATIONS}.",
            field="maxDeactivations",
        )
    changes = {
        name: value
        for name, value in (
            ("valve_enabled", enabled),
            ("valve_max_drop_percent", max_drop_percent),
            ("valve_max_deactivations", max_deactivations),
        )
        if value is not None
    }
    async with in_transaction(current_connection_name()):
        if changes:
            await Seller.filter(id=principal.seller_id).update(**changes)
        seller = await Seller.get(id=principal.seller_id)
        view = _view(seller)
        await product_log.record(
            principal.seller_id,
            LogLevel.INFO,
            VALVE_UPDATED.rstrip("."),
            product_log.details_line(
                MessageCode.SAFETY_VALVE_UPDATED,
                product_log.reseller(principal.seller_id),
                Detail(
                    "safetyValve",
                    "Safety valve",
                    view.safety_valve.enabled,
                    shown="On" if view.safety_valve.enabled else "Off",
                ),
                Detail("maxDropPercent", "Max drop (%)", view.safety_valve.max_drop_percent),
                Detail(
                    "maxDeactivations", "Max deactivations", view.safety_valve.max_deactivations
                ),
                product_log.by(principal.subject),
            ),
        )
    return view


async def set_sync_unit_prices(principal: Principal, enabled: bool) -> ConfigurationView:
    return await _switch(
        principal,
        MessageCode.CONFIGURATION_UPDATED,
        UPDATED,
        Detail("syncUnitPrices", "Sync unit prices to HaloPSA", enabled, shown=_on_off(enabled)),
        sync_unit_prices=enabled,
    )


async def set_daily_drift_check(principal: Principal, enabled: bool) -> ConfigurationView:
    """Turn the daily drift check (after the 18:00 UTC subscriptions sync) on or off."""
    return await _switch(
        principal,
        MessageCode.DAILY_DRIFT_CHECK_UPDATED,
        DRIFT_CHECK_UPDATED,
        Detail("dailyDriftCheck", "Daily drift check", enabled, shown=_on_off(enabled)),
        daily_drift_check=enabled,
    )


def _on_off(enabled: bool) -> str:
    return "On" if enabled else "Off"


async def _switch(
    principal: Principal, code: MessageCode, message: str, shown: Detail, **change: bool
) -> ConfigurationView:
    """Turn one of the seller's switches on or off, with its log entry (``shown``: the
    switch as the entry says it)."""
    # One transaction: the setting never changes without its log entry, or the reverse.
    async with in_transaction(current_connection_name()):
        await Seller.filter(id=principal.seller_id).update(**change)
        await product_log.record(
            principal.seller_id,
            LogLevel.INFO,
            message.rstrip("."),
            product_log.details_line(
                code,
                product_log.reseller(principal.seller_id),
                shown,
                product_log.by(principal.subject),
            ),
        )
    return await get_configuration(principal.seller_id)
