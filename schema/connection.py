"""Connection and configuration area: the seed's "Authentication" and "Configuration" pages."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import strawberry
from strawberry.types import Info

from gateway.services import configuration as configuration_service
from gateway.services import connection as connection_service
from gateway.services.connection import ConnectionStatus
from schema.context import Context

# The core's enum, exposed as it is.
strawberry.enum(ConnectionStatus)


@strawberry.type(description="The saved HaloPSA connection. The secret itself is never returned.")
class Connection:
    client_id: str | None
    secret_set: bool
    secret_last4: str | None = strawberry.field(description="Last 4 characters of the secret.")
    resource_server: str | None
    authorization_server: str | None
    tenant: str | None
    status: ConnectionStatus
    verified_at: datetime | None

    @classmethod
    def from_view(cls, view: connection_service.ConnectionView) -> Connection:
        return cls(**asdict(view))  # the same fields, by name


@strawberry.input(description="Connection settings. Omit clientSecret to keep the stored one.")
class ConnectionInput:
    client_id: str
    resource_server: str
    authorization_server: str
    client_secret: str | None = None
    tenant: str | None = None

    def to_service(self) -> connection_service.ConnectionInput:
        return connection_service.ConnectionInput(**asdict(self))  # the same fields, by name


@strawberry.type(
    description="A permission the syncs need from the HaloPSA API application, proven "
    "without writing anything."
)
class ConnectionPermission:
    permission: str = strawberry.field(
        description="As HaloPSA's API application settings (Permissions tab) name it, e.g. "
        "edit:softwarelicensing."
    )
    needed_for: str
    granted: bool | None = strawberry.field(
        description="Null: HaloPSA did not say which permissions the token grants."
    )


@strawberry.type
class ConnectionTestResult:
    success: bool
    message: str = strawberry.field(
        description='"Test is successful." or "Test is not successful."'
    )
    reason: str = strawberry.field(description="Why, in plain words.")
    reason_code: str
    permissions: list[ConnectionPermission] = strawberry.field(
        description="What a sync needs (clients readable, licences readable and writable), "
        "checked with reads only: the test never creates or changes anything in HaloPSA. "
        "Empty when the test stopped before (no token, HaloPSA unreachable)."
    )

    @classmethod
    def from_result(cls, result: connection_service.TestResult) -> ConnectionTestResult:
        return cls(
            success=result.success,
            message=result.message,
            reason=result.reason,
            reason_code=result.reason_code,
            permissions=[ConnectionPermission(**asdict(p)) for p in result.permissions],
        )


@strawberry.type
class SaveConnectionResult:
    connection: Connection
    message: str
    organizations_sync_queued: bool


@strawberry.type(
    description="The safety valve: a subscriptions sync that would lower seats or monthly "
    "value (unit × count, Annual ÷ 12) by more than maxDropPercent of your total, or deactivate "
    "more than maxDeactivations licences, waits in NEEDS_APPROVAL before writing anything."
)
class SafetyValve:
    enabled: bool
    max_drop_percent: int = strawberry.field(description="1–100; default 20.")
    max_deactivations: int = strawberry.field(description="0–100000; default 50.")


@strawberry.type
class Configuration:
    sync_unit_prices: bool = strawberry.field(description="Sync unit prices to HaloPSA.")
    safety_valve: SafetyValve
    daily_drift_check: bool = strawberry.field(
        description="Run the drift check every day after the 18:00 UTC subscriptions sync."
    )

    @classmethod
    def from_view(cls, view: configuration_service.ConfigurationView) -> Configuration:
        valve = view.safety_valve
        return cls(
            sync_unit_prices=view.sync_unit_prices,
            safety_valve=SafetyValve(
                enabled=valve.enabled,
                max_drop_percent=valve.max_drop_percent,
                max_deactivations=valve.max_deactivations,
            ),
            daily_drift_check=view.daily_drift_check,
        )


@strawberry.type
class ConfigurationUpdate:
    configuration: Configuration
    message: str


@strawberry.type
class Query:
    @strawberry.field(description="The HaloPSA connection settings of the seller.")
    async def connection(self, info: Info[Context, None]) -> Connection:
        return Connection.from_view(await connection_service.get_connection(info.context.seller_id))

    @strawberry.field(description="How subscriptions are sent to HaloPSA.")
    async def configuration(self, info: Info[Context, None]) -> Configuration:
        view = await configuration_service.get_configuration(info.context.seller_id)
        return Configuration.from_view(view)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Try the settings against HaloPSA without saving them.")
    async def test_connection(
        self, info: Info[Context, None], input: ConnectionInput
    ) -> ConnectionTestResult:
        ctx = info.context
        result = await connection_service.test_connection(
            ctx.deps, ctx.principal, input.to_service()
        )
        return ConnectionTestResult.from_result(result)

    @strawberry.mutation(description="Test, then save the settings (only a working configuration).")
    async def save_connection(
        self, info: Info[Context, None], input: ConnectionInput
    ) -> SaveConnectionResult:
        ctx = info.context
        result = await connection_service.save_connection(
            ctx.deps, ctx.principal, input.to_service()
        )
        return SaveConnectionResult(
            connection=Connection.from_view(result.connection),
            message="Connection settings saved.",
            organizations_sync_queued=result.organizations_sync_queued,
        )

    @strawberry.mutation(description="Turn 'Sync unit prices to HaloPSA' on or off.")
    async def set_sync_unit_prices(
        self, info: Info[Context, None], enabled: bool
    ) -> ConfigurationUpdate:
        view = await configuration_service.set_sync_unit_prices(info.context.principal, enabled)
        return ConfigurationUpdate(
            configuration=Configuration.from_view(view), message=configuration_service.UPDATED
        )

    @strawberry.mutation(
        description="Turn the daily drift check (after the 18:00 UTC subscriptions sync) on or off."
    )
    async def set_daily_drift_check(
        self, info: Info[Context, None], enabled: bool
    ) -> ConfigurationUpdate:
        view = await configuration_service.set_daily_drift_check(info.context.principal, enabled)
        return ConfigurationUpdate(
            configuration=Configuration.from_view(view),
            message=configuration_service.DRIFT_CHECK_UPDATED,
        )

    @strawberry.mutation(
        description="Change the safety valve (only the arguments given). Applies to "
        "subscriptions syncs that start after it, scheduled ones too."
    )
    async def set_safety_valve(
        self,
        info: Info[Context, None],
        enabled: bool | None = None,
        max_drop_percent: int | None = None,
        max_deactivations: int | None = None,
    ) -> ConfigurationUpdate:
        view = await configuration_service.set_safety_valve(
            info.context.principal,
            enabled=enabled,
            max_drop_percent=max_drop_percent,
            max_deactivations=max_deactivations,
        )
        return ConfigurationUpdate(
            configuration=Configuration.from_view(view),
            message=configuration_service.VALVE_UPDATED,
        )
