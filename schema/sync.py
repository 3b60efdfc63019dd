"""Sync area: overview tiles, run history, sync mutations and the live subscriptions."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry.types import Info

from gateway.events import ISSUE, RESYNC, resync_event
from gateway.events import SyncEvent as BusEvent
from gateway.messages import MessageCode, Params
from gateway.services import sync as sync_service
from gateway.services.sync import ButtonState, RunPhase, RunState, SyncKind, SyncScope, SyncTrigger
from schema import live
from schema.context import Context
from schema.ids import parse_int_id
from schema.messages import MessageParam, message_params

MAX_RUNS_PAGE = 100


# The core's enums, exposed as they are (GraphQL names and descriptions here).
strawberry.enum(
    SyncKind,
    description="What a sync moves: organisations from HaloPSA, or subscriptions to it; "
    "RECONCILE is the drift check (reads HaloPSA's licences, writes nothing there).",
)
strawberry.enum(SyncScope)
strawberry.enum(SyncTrigger, name="SyncTriggerKind")
strawberry.enum(
    RunState,
    description="Life of one run: QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED; a "
    "subscriptions run the safety valve holds stops in NEEDS_APPROVAL before writing "
    "(approveSync queues it again, cancelSync drops it).",
)
strawberry.enum(ButtonState, name="SyncButtonState", description="What a sync button shows.")
strawberry.enum(RunPhase, name="SyncPhase")


@strawberry.type(description="Monthly customer price in one currency (decimal strings).")
class ApprovalMoney:
    currency: str
    total: str = strawberry.field(description="The seller's total in HaloPSA now.")
    before: str = strawberry.field(description="The run's organisations, before.")
    after: str = strawberry.field(description="The run's organisations, after.")


@strawberry.type(description="A subscription whose seats or monthly value the run lowers.")
class ApprovalDrop:
    subscription_id: strawberry.ID
    name: str
    organization_id: strawberry.ID
    organization_name: str
    action: str
    seats_before: int
    seats_after: int
    currency: str
    monthly_price_before: str
    monthly_price_after: str


@strawberry.type(
    description="Why the safety valve held a run, and what the run would have done (the "
    "full plan: previewSync with the run's organizationId; equal planHash, same plan)."
)
class SyncApproval:
    plan_hash: str
    summary: str = strawberry.field(description="What it would have done, in a sentence.")
    reasons: list[str] = strawberry.field(
        description="What tripped the valve: SEATS, VALUE:<currency>, DEACTIVATIONS."
    )
    max_drop_percent: int
    max_deactivations: int
    seats_total: int
    seats_before: int
    seats_after: int
    deactivations: int
    writes: int
    money: list[ApprovalMoney]
    drops: list[ApprovalDrop] = strawberry.field(description="The largest drops (up to 20).")
    approved_by: str | None
    approved_at: datetime | None


# The verdict's figures, stored on the run under the GraphQL fields' names.
_APPROVAL_FIGURES = (
    "plan_hash",
    "max_drop_percent",
    "max_deactivations",
    "seats_total",
    "seats_before",
    "seats_after",
    "deactivations",
    "writes",
)


# The resolvers of SyncRun's converted fields answer Any to mypy: the field keeps the record's
# type for it, and graphql_type tells the schema what they answer.
def _approval(root: strawberry.Parent[sync_service.RunRecord]) -> Any:
    data = root.approval
    if not data:
        return None
    return SyncApproval(
        **{name: data[name] for name in _APPROVAL_FIGURES},
        summary=data.get("text", ""),
        reasons=list(data["reasons"]),
        money=[ApprovalMoney(**m) for m in data["money"]],
        drops=[ApprovalDrop(**d) for d in data["drops"]],
        approved_by=root.approved_by,
        approved_at=root.approved_at,
    )


def _message_params(root: strawberry.Parent[sync_service.RunRecord]) -> Any:
    return message_params(root.message_params)


@strawberry.type(description="One sync run with its counts and the HaloPSA budget it used.")
class SyncRun(sync_service.RunRecord):
    """The service's :class:`RunRecord`, served as it is (:meth:`of`): its fields are the
    type's; only those that need a description, another GraphQL type or a conversion are
    named again here (in the record's order, which is the SDL's)."""

    # The record's types stay (mypy holds the subclass to them); graphql_type says what the
    # API answers instead.
    id: int = strawberry.field(graphql_type=strawberry.ID)
    organization_id: strawberry.ID | None = strawberry.field(
        description="The organisation of a one-organisation run: its public id (the grid's id)."
    )
    organization_name: str | None = strawberry.field(
        description="The organisation of a one-organisation run: its name."
    )
    message_code: MessageCode | None = strawberry.field(
        description="What the message says, as a stable code (null when there is no message)."
    )
    message_params: Params = strawberry.field(
        resolver=_message_params,
        graphql_type=list[MessageParam],
        description="The message's parameters (see MessageCode).",
    )
    approval: dict[str, Any] | None = strawberry.field(
        resolver=_approval,
        graphql_type=SyncApproval | None,
        description="Held by the safety valve (or approved after): what it would do, and why.",
    )
    # Inside approval.
    approved_by: strawberry.Private[str | None] = None
    approved_at: strawberry.Private[datetime | None] = None

    @staticmethod
    def of(run: sync_service.RunRecord) -> SyncRun:
        """The record as the GraphQL type: the same object (the type adds no data)."""
        return cast("SyncRun", run)


@strawberry.type(
    description='A tile: when, and the text the seed asks for ("3h ago", "2 days ago").'
)
class SyncTile:
    at: datetime | None
    relative: str | None


@strawberry.type
class SyncKindStatus:
    kind: SyncKind
    state: ButtonState
    message: str | None = strawberry.field(
        description='"Sync in progress" or "You can trigger the next sync in xx minutes".'
    )
    message_code: MessageCode | None = strawberry.field(
        description="What the button shows, as a stable code: SYNC_IN_PROGRESS or "
        "SYNC_COOLDOWN (minutes); null when it shows nothing."
    )
    message_params: list[MessageParam] = strawberry.field(
        description="The message's parameters (see MessageCode)."
    )
    next_allowed_at: datetime | None
    retry_after_seconds: int
    current_run: SyncRun | None
    last_run: SyncRun | None
    next_scheduled_at: datetime | None = strawberry.field(
        description="When this seller's next scheduled run of this kind is due: the daily "
        "slot (08:00 UTC customers, 18:00 UTC subscriptions) plus the seller's own offset "
        "within SCHEDULED_SYNC_SPREAD_MINUTES, the same time every day. It runs if the "
        "connection is verified by then."
    )


@strawberry.type
class SyncOverview:
    last_sync_to_platform: SyncTile
    last_sync_to_psa: SyncTile
    organizations: SyncKindStatus
    subscriptions: SyncKindStatus
    open_issues: int = strawberry.field(
        description="Integration issues ongoing and not muted (see integrationIssues)."
    )
    reconcile: SyncKindStatus = strawberry.field(
        description="The drift check's button (see drift and the reconcile mutation)."
    )
    version: int = strawberry.field(
        default=0,
        description="syncOverviewChanged: the sequence of the seller's last event (see "
        "syncEvents) this overview reflects. An overview is never sent after a newer one.",
    )

    @classmethod
    def from_service(cls, overview: sync_service.SyncOverview) -> SyncOverview:
        def status(k: sync_service.KindOverview) -> SyncKindStatus:
            return SyncKindStatus(
                kind=k.kind,
                state=k.state,
                message=k.message.text if k.message else None,
                message_code=k.message.code if k.message else None,
                message_params=message_params(k.message.params) if k.message else [],
                next_allowed_at=k.next_allowed_at,
                retry_after_seconds=k.retry_after_seconds,
                current_run=SyncRun.of(k.current_run) if k.current_run else None,
                last_run=SyncRun.of(k.last_run) if k.last_run else None,
                next_scheduled_at=k.next_scheduled_at,
            )

        now = overview.now
        return cls(
            last_sync_to_platform=SyncTile(
                at=overview.last_sync_to_platform,
                relative=sync_service.relative_time(overview.last_sync_to_platform, now),
            ),
            last_sync_to_psa=SyncTile(
                at=overview.last_sync_to_psa,
                relative=sync_service.relative_time(overview.last_sync_to_psa, now),
            ),
            organizations=status(overview.organizations),
            subscriptions=status(overview.subscriptions),
            open_issues=overview.open_issues,
            reconcile=status(overview.reconcile),
        )


@strawberry.type(description="A step of a sync run, pushed live to the seller's sockets.")
class SyncEvent:
    run_id: strawberry.ID
    kind: SyncKind | None = strawberry.field(
        description="The run's kind; null on RESYNC, which is about every kind."
    )
    scope: SyncScope | None = strawberry.field(
        description="The run's scope; null on RESYNC, which is about every scope."
    )
    phase: RunPhase
    organization_id: strawberry.ID | None = strawberry.field(
        description="The organisation of a one-organisation run: its public id (the grid's id)."
    )
    organization_name: str | None = strawberry.field(
        description="The organisation of a one-organisation run: its name."
    )
    processed: int
    total: int
    created: int
    updated: int
    skipped: int
    failed: int
    message: str | None
    code: MessageCode = strawberry.field(
        description="What the event says, as a stable code: its message's, or its phase's "
        "when it has none (SYNC_QUEUED, SYNC_PROGRESS, SYNC_COMPLETED, EVENTS_MISSED)."
    )
    params: list[MessageParam] = strawberry.field(
        description="The parameters of the message (see MessageCode)."
    )
    at: datetime
    sequence: int = strawberry.field(
        description="Numbers the seller's events (one numbering per epoch): give the last one "
        "seen as syncEvents(afterSequence:) to get what was missed."
    )
    epoch: str = strawberry.field(
        description="The numbering the sequence belongs to; it changes when the events kept "
        "for replay are lost (e.g. a Redis restart)."
    )


def _run_id(value: strawberry.ID) -> int:
    from gateway.errors import NotFound

    return parse_int_id(value, NotFound("Sync run not found.", field="runId"))


async def _overview(info: Info[Context, None]) -> SyncOverview:
    ctx = info.context
    return SyncOverview.from_service(await sync_service.sync_overview(ctx.deps, ctx.seller_id))


@strawberry.type
class Query:
    @strawberry.field(description="Sync tiles and the state of both sync buttons.")
    async def sync_overview(self, info: Info[Context, None]) -> SyncOverview:
        return await _overview(info)

    @strawberry.field(description="Recent sync runs, newest first.")
    async def sync_runs(
        self, info: Info[Context, None], kind: SyncKind | None = None, first: int = 20
    ) -> list[SyncRun]:
        from gateway.errors import BadUserInput

        if not 1 <= first <= MAX_RUNS_PAGE:
            raise BadUserInput(f"first must be between 1 and {MAX_RUNS_PAGE}.", field="first")
        runs = await sync_service.sync_runs(info.context.seller_id, kind, first)
        return [SyncRun.of(r) for r in runs]


async def _trigger(
    info: Info[Context, None], kind: SyncKind, organization_id: strawberry.ID | None = None
) -> SyncRun:
    ctx = info.context
    principal = ctx.principal
    run = await sync_service.sync_now(
        ctx.deps,
        principal.seller_id,
        kind,
        organization_id=organization_id,
        triggered_by=principal.subject,
    )
    return SyncRun.of(run)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Sync organizations from your PSA tool to the platform.")
    async def sync_organizations(self, info: Info[Context, None]) -> SyncRun:
        return await _trigger(info, SyncKind.ORGANIZATIONS)

    @strawberry.mutation(description="Sync subscriptions from platform to your PSA tool.")
    async def sync_subscriptions(self, info: Info[Context, None]) -> SyncRun:
        return await _trigger(info, SyncKind.SUBSCRIPTIONS)

    @strawberry.mutation(description="Sync the subscriptions of one mapped organization.")
    async def sync_organization_subscriptions(
        self, info: Info[Context, None], organization_id: strawberry.ID
    ) -> SyncRun:
        return await _trigger(info, SyncKind.SUBSCRIPTIONS, organization_id)

    @strawberry.mutation(
        description="Start a drift check: read every licence in HaloPSA once and report the "
        "ones edited, deactivated or deleted there since this integration wrote them, and "
        "those under mapped organisations it never wrote (see drift). Writes nothing to "
        "HaloPSA; same rules as the syncs (one at a time per seller)."
    )
    async def reconcile(self, info: Info[Context, None]) -> SyncRun:
        return await _trigger(info, SyncKind.RECONCILE)

    @strawberry.mutation(
        description="Stop a sync at the next record boundary; a run waiting for approval is "
        "dropped (nothing was written)."
    )
    async def cancel_sync(self, info: Info[Context, None], run_id: strawberry.ID) -> SyncRun:
        ctx = info.context
        run = await sync_service.cancel_run(
            ctx.deps, ctx.seller_id, _run_id(run_id), by=ctx.principal.subject
        )
        return SyncRun.of(run)

    @strawberry.mutation(
        description="Run a sync the safety valve held: it is queued again and runs the plan it "
        "showed; if the data changed meanwhile, it plans again and asks again if needed. "
        "SYNC_NOT_AWAITING_APPROVAL when it is not held (any more), SYNC_IN_PROGRESS while "
        "another sync runs."
    )
    async def approve_sync(self, info: Info[Context, None], run_id: strawberry.ID) -> SyncRun:
        ctx = info.context
        run = await sync_service.approve_run(ctx.deps, ctx.principal, _run_id(run_id))
        return SyncRun.of(run)


def _event(e: BusEvent, sequence: int | None = None, epoch: str | None = None) -> SyncEvent:
    kind, scope = sync_service.event_run_kind(e)
    return SyncEvent(
        run_id=strawberry.ID(str(e.run_id)),
        kind=kind,
        scope=scope,
        phase=RunPhase(e.phase),
        organization_id=strawberry.ID(e.organization_id) if e.organization_id else None,
        organization_name=e.organization_name,
        processed=e.processed,
        total=e.total,
        created=e.created,
        updated=e.updated,
        skipped=e.skipped,
        failed=e.failed,
        message=e.message,
        code=sync_service.event_code(e),
        params=message_params(e.params),
        at=e.at,
        sequence=e.sequence if sequence is None else sequence,
        epoch=e.epoch if epoch is None else epoch,
    )


AFTER_SEQUENCE = (
    "Resume: the sequence of the last event this page saw (with its epoch). The events "
    "since are sent first, in order; if they are no longer kept (or the epoch changed), "
    "RESYNC and the latest run's current state instead."
)

live.SHARED_FIELDS.update({"syncEvents", "syncOverviewChanged"})


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "Every event of this seller's sync runs. RESYNC: events were missed (the event "
            "bus lost Redis, or a resume found them gone); it is followed by the latest "
            "run's current state."
        )
    )
    async def sync_events(
        self,
        info: Info[Context, None],
        kind: SyncKind | None = None,
        after_sequence: Annotated[
            int | None, strawberry.argument(description=AFTER_SEQUENCE)
        ] = None,
        epoch: str | None = None,
    ) -> AsyncGenerator[SyncEvent, None]:
        from gateway.errors import BadUserInput

        ctx = info.context
        seller_id = ctx.seller_id
        bus = ctx.deps.bus
        if after_sequence is not None and after_sequence < 0:
            raise BadUserInput("afterSequence must be 0 or more.", field="afterSequence")
        state = live.state_of(ctx)

        async def resync(event: Any) -> AsyncIterator[SyncEvent]:
            # Events were missed: say so, then where things stand, both numbered with where
            # the seller's events stand in this process (a page resumes from there).
            now = bus.position(seller_id)
            if state.version is None or now > state.version:
                state.version = now
            yield _event(event, now[1], bus.epoch())
            latest = await sync_service.latest_run_event(seller_id, kind)
            if latest is not None:
                yield _event(latest, now[1], bus.epoch())

        async def initial(state: live.LiveState) -> AsyncIterator[SyncEvent]:
            after: tuple[str | None, int] | None = None
            if state.resume is not None:  # this socket fell behind: from its last event
                if state.resume[0] == bus.position(seller_id)[0]:
                    after = (bus.epoch(), state.resume[1])
            elif after_sequence is not None:
                after = (epoch, after_sequence)
            else:
                return  # a new page: events from now on
            replay = None
            if after is not None:
                try:
                    replay = await bus.replay(seller_id, after[0], after[1])
                except Exception:  # the bus cannot answer (Redis away): the page refreshes
                    replay = None
            if replay is not None and replay.events is not None:
                for event in replay.events:
                    state.version = max(state.version or event.position, event.position)
                    if event.phase == ISSUE or (kind is not None and event.kind != kind.value):
                        continue
                    yield _event(event)
                return
            if replay is not None and replay.epoch == bus.epoch() and state.version is not None:
                # What Redis numbered up to now is in the state read below.
                state.version = max(state.version, (state.version[0], replay.sequence))
            async for value in resync(resync_event(seller_id)):
                yield value

        async def on_event(event: Any) -> AsyncIterator[SyncEvent]:
            if event.phase == ISSUE:
                return  # an integration issue changed: integrationIssueChanged
            if event.phase == RESYNC:
                async for value in resync(event):
                    yield value
                return
            if kind is not None and event.kind != kind.value:
                return
            yield _event(event)

        first_part = after_sequence is not None  # else: events from now on
        async for value in live.live(state, bus, seller_id, initial, on_event, first_part):
            yield value

    @strawberry.subscription(description="The sync overview now, and again whenever it changes.")
    async def sync_overview_changed(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[SyncOverview, None]:
        ctx = info.context
        seller_id = ctx.seller_id
        bus = ctx.deps.bus
        state = live.state_of(ctx)

        async def initial(state: live.LiveState) -> AsyncIterator[SyncOverview]:
            overview = await _overview(info)
            overview.version = state.version[1] if state.version else 0
            yield overview

        async def on_event(event: Any) -> AsyncIterator[SyncOverview]:
            if event.phase == RunPhase.PROGRESS:
                return  # counts move in syncEvents; the overview changes with states
            # (and with issues: ISSUE events change its count of open issues). One read per
            # change of the seller, whatever the number of sockets and documents.
            read = await live.once_per_change(
                bus,
                ("overview", seller_id),
                event.position,
                lambda: sync_service.sync_overview(ctx.deps, seller_id),
            )
            overview = SyncOverview.from_service(read)
            overview.version = event.position[1]
            yield overview

        async for value in live.live(state, bus, seller_id, initial, on_event):
            yield value
