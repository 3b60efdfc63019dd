"""A sync run, from button to ledger: its one home.

    triggers.py   who may start or cancel a run (connection, mapping, cooldown, one per seller)
    schedules.py  the daily schedule's runs, once per seller and day at its time, whoever fires
    runs.py       the seller's lock and its lease, events, progress, the run's exceptions
    engine.py     execute_run(run_id, deps): claim → pull | push → finish
    waits.py      a run re-queued with a delay: HaloPSA's rate limit, another execution's lease
    pull.py       organisations in (HaloPSA clients)
    push.py       subscriptions out (ledger intents, batches, adoption)
    licences.py   payload, hash, unit price, match: pure functions
    plan.py       the push's decision for one subscription (pure): push and preview share it
    preview.py    what the next push would do and the money it moves (reads only)
    preview_csv.py  the preview as CSV (halo-gateway preview)
    money.py      what a licence in HaloPSA is worth per month (pure)
    overview.py   tiles, button states, run history
    journal.py    every seller-visible text of a run

Callers (the GraphQL edge, the workers, the CLI) import from this package only.
"""

from gateway.models import RunState, SyncKind, SyncScope, SyncTrigger
from gateway.services.sync.engine import execute_run
from gateway.services.sync.journal import IN_PROGRESS_MESSAGE
from gateway.services.sync.overview import (
    ButtonState,
    KindOverview,
    SyncOverview,
    latest_run_event,
    load_run,
    relative_time,
    sync_overview,
    sync_runs,
)
from gateway.services.sync.preview import SyncPreview, preview_sync
from gateway.services.sync.preview_csv import write_preview_csv
from gateway.services.sync.runs import RunPhase, active_run, event_for, now_utc
from gateway.services.sync.schedules import DailySchedule, ScheduledCounts, trigger_scheduled
from gateway.services.sync.triggers import (
    cancel_sync,
    cooldown_remaining,
    organization_by_external_id,
    trigger_sync,
)

__all__ = [
    "IN_PROGRESS_MESSAGE",
    "ButtonState",
    "DailySchedule",
    "KindOverview",
    "RunPhase",
    "RunState",
    "ScheduledCounts",
    "SyncKind",
    "SyncOverview",
    "SyncPreview",
    "SyncScope",
    "SyncTrigger",
    "active_run",
    "cancel_sync",
    "cooldown_remaining",
    "event_for",
    "execute_run",
    "latest_run_event",
    "load_run",
    "now_utc",
    "organization_by_external_id",
    "preview_sync",
    "relative_time",
    "sync_overview",
    "sync_runs",
    "trigger_scheduled",
    "trigger_sync",
    "write_preview_csv",
]
