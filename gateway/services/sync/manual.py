"""The seller's buttons: a manual sync started, approved or cancelled, answered as the run a
page shows.

The GraphQL mutations call these; organisations come and go by their public id (the grid's),
and the run comes back as a :class:`~gateway.services.sync.overview.RunRecord`.
"""

from __future__ import annotations

from gateway.auth import Principal
from gateway.models import SyncKind, SyncTrigger
from gateway.services import Deps
from gateway.services.sync.approvals import approve_sync
from gateway.services.sync.overview import RunRecord, load_run
from gateway.services.sync.triggers import cancel_sync, organization_by_external_id, trigger_sync


async def sync_now(
    deps: Deps,
    seller_id: str,
    kind: SyncKind,
    *,
    organization_id: str | None = None,
    triggered_by: str | None = None,
) -> RunRecord:
    """Start a manual sync, of one organisation (its public id) or of all."""
    org_pk = None
    if organization_id is not None:
        org_pk = (await organization_by_external_id(seller_id, organization_id)).id
    run = await trigger_sync(
        deps,
        seller_id,
        kind,
        trigger=SyncTrigger.MANUAL,
        organization_id=org_pk,
        triggered_by=triggered_by,
    )
    return await load_run(seller_id, run.id)


async def cancel_run(
    deps: Deps, seller_id: str, run_id: int, *, by: str | None = None
) -> RunRecord:
    run = await cancel_sync(deps, seller_id, run_id, by=by)
    return await load_run(seller_id, run.id)


async def approve_run(deps: Deps, principal: Principal, run_id: int) -> RunRecord:
    """Queue a run the safety valve held, tied to the plan it showed."""
    run = await approve_sync(deps, principal, run_id)
    return await load_run(principal.seller_id, run.id)
