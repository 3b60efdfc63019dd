"""A sync run, from button to ledger: its one home.

    triggers.py   who may start or cancel a run (connection, mapping, cooldown, one per seller)
    schedules.py  the daily schedule's runs, once per seller and day at its time, whoever fires
    runs.py       the seller's lock and its lease, events, progress, the run's exceptions
    engine.py     execute_run(run_id, deps): claim → pull | push | reconcile → finish
    waits.py      a run re-queued with a delay: HaloPSA's rate limit, another execution's lease
    requeue.py    a queued run whose message the broker lost: sent again (scale-out)
    pull.py       organisations in (HaloPSA clients)
    push.py       subscriptions out (ledger intents, batches, adoption)
    licences.py   payload, hash, unit price, match: pure functions
    plan.py       the push's decision for one subscription (pure): push and preview share it
    preview.py    what the next push would do and the money it moves (reads only)
    preview_csv.py  the preview as CSV (halo-gateway preview)
    money.py      what a licence in HaloPSA is worth per month (pure)
    reconcile.py  the drift check: every licence in HaloPSA, read once, against the ledger
    drift.py      how one licence differs from what we wrote (pure)
    drift_report.py  the latest drift check's findings, named and paged
    drift_csv.py  the drift report as CSV (halo-gateway drift)
    valve.py      the safety valve's verdict on a run's plan (pure)
    approvals.py  a held run: approve (its plan), cancel, supersede
    existing.py   day one: what a client held before the first push (the run's check)
    existing_review.py  day one, the seller's side: review, suggested pairs, decisions
    overview.py   tiles, button states, run history (runs as RunRecord dataclasses)
    manual.py     the seller's buttons: a manual sync started, approved or cancelled
    activity.py   the Logs page's chart: runs per day by outcome, records written
    journal.py    every seller-visible text of a run

Callers (the GraphQL edge, the workers, the CLI) import from this package only.
"""

from gateway.models import DriftKind, LicenceDecision, RunState, SyncKind, SyncScope, SyncTrigger
from gateway.services.sync import existing_review
from gateway.services.sync.approvals import approve_sync
from gateway.services.sync.drift_csv import write_drift_csv
from gateway.services.sync.drift_report import DriftCounts, DriftItem, DriftReport, drift_report
from gateway.services.sync.engine import execute_run
from gateway.services.sync.journal import IN_PROGRESS_MESSAGE, SYNC_IN_PROGRESS, cooldown_message
from gateway.services.sync.manual import approve_run, cancel_run, sync_now
from gateway.services.sync.overview import (
    ButtonState,
    KindOverview,
    RunRecord,
    SyncOverview,
    latest_run_event,
    load_run,
    relative_time,
    sync_overview,
    sync_runs,
)
from gateway.services.sync.plan import Action, Reason
from gateway.services.sync.preview import SyncPreview, preview_sync
from gateway.services.sync.preview_csv import write_preview_csv
from gateway.services.sync.requeue import resend_lost_runs
from gateway.services.sync.runs import (
    RunPhase,
    active_run,
    event_code,
    event_for,
    event_run_kind,
    now_utc,
)
from gateway.services.sync.schedules import (
    DailySchedule,
    ScheduledCounts,
    catch_up_drift_checks,
    trigger_scheduled,
)
from gateway.services.sync.triggers import (
    cancel_sync,
    cooldown_remaining,
    organization_by_external_id,
    trigger_sync,
)
from gateway.services.sync.valve import (
    MAX_DEACTIVATIONS,
    MAX_DROP_PERCENT,
    MIN_DEACTIVATIONS,
    MIN_DROP_PERCENT,
    ValveSettings,
    Verdict,
)

__all__ = [
    "IN_PROGRESS_MESSAGE",
    "MAX_DEACTIVATIONS",
    "MAX_DROP_PERCENT",
    "MIN_DEACTIVATIONS",
    "MIN_DROP_PERCENT",
    "SYNC_IN_PROGRESS",
    "Action",
    "ButtonState",
    "DailySchedule",
    "DriftCounts",
    "DriftItem",
    "DriftKind",
    "DriftReport",
    "KindOverview",
    "LicenceDecision",
    "Reason",
    "RunPhase",
    "RunRecord",
    "RunState",
    "ScheduledCounts",
    "SyncKind",
    "SyncOverview",
    "SyncPreview",
    "SyncScope",
    "SyncTrigger",
    "ValveSettings",
    "Verdict",
    "active_run",
    "approve_run",
    "approve_sync",
    "cancel_run",
    "cancel_sync",
    "catch_up_drift_checks",
    "cooldown_message",
    "cooldown_remaining",
    "drift_report",
    "event_code",
    "event_for",
    "event_run_kind",
    "execute_run",
    "existing_review",
    "latest_run_event",
    "load_run",
    "now_utc",
    "organization_by_external_id",
    "preview_sync",
    "relative_time",
    "resend_lost_runs",
    "sync_now",
    "sync_overview",
    "sync_runs",
    "trigger_scheduled",
    "trigger_sync",
    "write_drift_csv",
    "write_preview_csv",
]
