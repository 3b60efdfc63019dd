"""The data of halo-gateway (Tortoise ORM), every row scoped to one seller.

    Seller ─┬─ Connection (1:1)            HaloPSA credentials, secret encrypted
            ├─ Organization ── Subscription  the platform's own records (pushed in by integrators)
            ├─ PsaOrganization             HaloPSA clients, pulled by the organisations sync
            ├─ OrganizationMapping         platform org ↔ PSA org, 1:1 (both sides unique)
            ├─ MappingChange               append-only history of map/unmap (who, when, what)
            ├─ SyncedSubscription          ledger: subscription × HaloPSA client → licence + hash
            ├─ SyncRun                     one sync, its state, counts and HaloPSA budget
            ├─ ClientReview ── ExistingLicence  day one: licences a HaloPSA client held before
            │                              the first push, and the seller's decision on each
            ├─ LogEntry                    the seller-visible INFO/WARNING/ERROR entries (30 days)
            ├─ DriftFinding                a licence HaloPSA holds differently from the ledger
            ├─ IntegrationIssue            one deduplicated problem, ONGOING → RESOLVED
            └─ WebhookEndpoint ── WebhookDelivery  signed events and their delivery log (30 days)

Uniqueness that the product relies on is a database constraint, never a read-then-write:
one mapping per platform organisation, a PSA organisation mapped at most once per seller, one
ledger row per (subscription, HaloPSA client), one scheduled run per (seller, kind, day), one
open integration issue per (seller, kind, subject), one day-one check per (seller, HaloPSA
client) and one decision per licence it found.
The one-sync-per-seller lock lives on ``Seller`` (``active_run_id`` + lease) and is claimed with
a conditional UPDATE (``gateway.services.sync``). Each relation's id column is declared beside
it (``seller_id: str``) for the type checker; Tortoise sets it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar, cast

from tortoise import fields
from tortoise.models import Model

# Money columns: 18 digits, 4 after the point (unit prices keep 4 decimal places).
MONEY_DIGITS = 18
MONEY_PLACES = 4

T = TypeVar("T")


def _nullable(field: fields.Field[T]) -> fields.Field[T | None]:
    """Tortoise types TextField and CharEnumField as never None, whatever ``null=True`` says."""
    return cast("fields.Field[T | None]", field)


class ConnectionStatus(StrEnum):
    NOT_CONFIGURED = "NOT_CONFIGURED"
    VERIFIED = "VERIFIED"
    INVALID = "INVALID"


class SyncKind(StrEnum):
    ORGANIZATIONS = "ORGANIZATIONS"
    SUBSCRIPTIONS = "SUBSCRIPTIONS"
    # The drift check: reads every licence in HaloPSA and compares it with the ledger.
    RECONCILE = "RECONCILE"


class SyncScope(StrEnum):
    ALL = "ALL"
    ORGANIZATION = "ORGANIZATION"


class SyncTrigger(StrEnum):
    MANUAL = "MANUAL"
    SCHEDULED = "SCHEDULED"
    AUTOMATIC = "AUTOMATIC"  # e.g. the organisations sync after the first connection save


class RunState(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    # Stopped by the safety valve before writing; ``approveSync`` queues it again.
    NEEDS_APPROVAL = "NEEDS_APPROVAL"

    @property
    def finished(self) -> bool:
        """No execution goes on or is due (a held run waits for the seller, not a worker)."""
        return self in (
            RunState.SUCCEEDED,
            RunState.FAILED,
            RunState.CANCELLED,
            RunState.NEEDS_APPROVAL,
        )


class LogLevel(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LedgerState(StrEnum):
    PENDING = "PENDING"  # intent recorded, HaloPSA's answer not yet stored
    WRITTEN = "WRITTEN"
    NOT_SENT = "NOT_SENT"  # never sent: quantity zero, or deleted before it reached HaloPSA


class RunOutcome(StrEnum):
    """What a run did to one subscription; a run's counts are these, counted."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


class Seller(Model):
    id = fields.CharField(max_length=64, primary_key=True)
    sync_unit_prices = fields.BooleanField(default=False)
    # The one-sync-at-a-time lock: claimed by a conditional UPDATE, lost when the lease expires.
    active_run_id = fields.IntField(null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    # Which execution of the run holds the lease (None: queued or waiting to continue, the
    # next execution takes it): a second delivery of a run's message never runs beside a
    # live first one, it waits for that one's lease to expire.
    lease_owner = fields.CharField(max_length=32, null=True)
    # Run the drift check every day after the 18:00 UTC subscriptions sync.
    daily_drift_check = fields.BooleanField(default=False)
    # The safety valve (gateway.services.sync.valve): a subscriptions run that would lower
    # seats or monthly value by more than this share of the seller's total, or deactivate
    # more than this many licences, waits for approval before writing.
    valve_enabled = fields.BooleanField(default=True)
    valve_max_drop_percent = fields.IntField(default=20)
    valve_max_deactivations = fields.IntField(default=50)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "seller"


class Connection(Model):
    id = fields.IntField(primary_key=True)
    seller: fields.OneToOneRelation[Seller] = fields.OneToOneField(
        "models.Seller", related_name="connection", on_delete=fields.CASCADE
    )
    seller_id: str
    client_id = fields.CharField(max_length=255)
    client_secret_encrypted = fields.TextField()
    client_secret_last4 = fields.CharField(max_length=4)
    resource_server = fields.CharField(max_length=2048)
    authorization_server = fields.CharField(max_length=2048)
    tenant = fields.CharField(max_length=255, null=True)
    status = fields.CharEnumField(
        ConnectionStatus, max_length=16, default=ConnectionStatus.VERIFIED
    )
    verified_at = fields.DatetimeField(null=True)
    last_checked_at = fields.DatetimeField(null=True)
    last_check_reason = _nullable(fields.TextField(null=True))
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "connection"


class Organization(Model):
    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="organizations", on_delete=fields.CASCADE
    )
    seller_id: str
    external_id = fields.CharField(max_length=128)
    name = fields.CharField(max_length=255)
    reference = fields.CharField(max_length=128)
    status = fields.CharField(max_length=32)
    deleted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "organization"
        unique_together = (("seller", "external_id"),)
        # (seller_id, deleted_at): the grid's total is counted from this index alone.
        indexes = (
            ("seller_id", "name"),
            ("seller_id", "reference"),
            ("seller_id", "status"),
            ("seller_id", "deleted_at"),
        )


class Subscription(Model):
    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="subscriptions", on_delete=fields.CASCADE
    )
    seller_id: str
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="subscriptions", on_delete=fields.CASCADE
    )
    organization_id: int
    external_id = fields.CharField(max_length=128)
    name = fields.CharField(max_length=255)
    start_date = fields.DateField(null=True)
    end_date = fields.DateField(null=True)
    quantity = fields.IntField()
    billing_cycle = fields.CharField(max_length=32)
    term_duration = fields.CharField(max_length=32)
    status = fields.CharField(max_length=32)
    cost_price = fields.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    customer_price = fields.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    currency = fields.CharField(max_length=3, default="USD")
    deleted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subscription"
        unique_together = (("seller", "external_id"),)
        indexes = (("organization_id", "deleted_at"),)


class PsaOrganization(Model):
    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="psa_organizations", on_delete=fields.CASCADE
    )
    seller_id: str
    halo_id = fields.IntField()
    name = fields.CharField(max_length=255)
    inactive = fields.BooleanField(default=False)
    # False once an organisations sync no longer finds it in HaloPSA: its mapping shows
    # "Response Error"; nothing is deleted silently.
    present = fields.BooleanField(default=True)
    missing_since = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "psa_organization"
        unique_together = (("seller", "halo_id"),)
        indexes = (("seller_id", "name"),)


class OrganizationMapping(Model):
    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="mappings", on_delete=fields.CASCADE
    )
    seller_id: str
    organization: fields.OneToOneRelation[Organization] = fields.OneToOneField(
        "models.Organization", related_name="mapping", on_delete=fields.CASCADE
    )
    organization_id: int
    psa_organization: fields.ForeignKeyRelation[PsaOrganization] = fields.ForeignKeyField(
        "models.PsaOrganization", related_name="mappings", on_delete=fields.CASCADE
    )
    psa_organization_id: int
    mapped_by = fields.CharField(max_length=255)
    mapped_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organization_mapping"
        # A PSA organisation is mapped at most once per seller: the database decides
        # between two concurrent attempts, not a read-then-write.
        unique_together = (("seller", "psa_organization"),)


class MappingChange(Model):
    """Append-only history of mappings: what a seller checks after a remap."""

    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="mapping_changes", on_delete=fields.CASCADE
    )
    seller_id: str
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="mapping_changes", on_delete=fields.CASCADE
    )
    organization_id: int
    halo_id = fields.IntField()
    psa_name = fields.CharField(max_length=255)
    mapped_at = fields.DatetimeField()
    mapped_by = fields.CharField(max_length=255)
    unmapped_at = fields.DatetimeField(null=True)
    unmapped_by = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "mapping_change"
        indexes = (("seller_id", "organization_id"),)


class SyncRun(Model):
    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="sync_runs", on_delete=fields.CASCADE
    )
    seller_id: str
    kind = fields.CharEnumField(SyncKind, max_length=16)
    scope = fields.CharEnumField(SyncScope, max_length=16, default=SyncScope.ALL)
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="sync_runs", null=True, on_delete=fields.SET_NULL
    )
    organization_id: int | None
    trigger = fields.CharEnumField(SyncTrigger, max_length=16)
    triggered_by = fields.CharField(max_length=255, null=True)
    state = fields.CharEnumField(RunState, max_length=16, default=RunState.QUEUED)
    # Snapshot of the seller's "Sync unit prices" at the moment the run starts.
    sync_unit_prices = fields.BooleanField(null=True)
    total = fields.IntField(default=0)
    processed = fields.IntField(default=0)
    created = fields.IntField(default=0)
    updated = fields.IntField(default=0)
    unchanged = fields.IntField(default=0)
    skipped = fields.IntField(default=0)
    failed = fields.IntField(default=0)
    halo_calls = fields.IntField(default=0)
    halo_rate_limited = fields.IntField(default=0)
    halo_retries = fields.IntField(default=0)
    halo_wait_seconds = fields.FloatField(default=0.0)
    attempts = fields.IntField(default=0)
    # Since when HaloPSA's rate limit has held the run up (its first 429 of the episode): the
    # run waits for the window, re-queued, until a deadline counted from here.
    rate_limited_since = fields.DatetimeField(null=True)
    cancel_requested = fields.BooleanField(default=False)
    # The run's message re-sent while it waited QUEUED (the broker lost it): how many times,
    # and when last (one re-send per interval, whichever scheduler gets there first).
    # ``started_by_resend`` is which sending started the current execution (0: the first
    # message; n: the n-th re-send): another sending that finds the run under way drops
    # itself instead of waiting on the run (services/sync/requeue.py).
    requeues = fields.IntField(default=0)
    requeued_at = fields.DatetimeField(null=True)
    started_by_resend = fields.IntField(default=0)
    message = _nullable(fields.TextField(null=True))
    # The message's stable code and parameters (gateway.messages), beside its text; runs
    # from before codes existed have none (read as LEGACY).
    message_code = fields.CharField(max_length=48, null=True)
    message_params: fields.JSONField[list[Any] | None] = fields.JSONField(null=True)
    # The safety valve: the hash of the plan it checked (held or let through), the hash the
    # seller approved, and when this run's plan passed (a resumed attempt does not ask again).
    plan_hash = fields.CharField(max_length=64, null=True)
    approved_hash = fields.CharField(max_length=64, null=True)
    approved_by = fields.CharField(max_length=255, null=True)
    approved_at = fields.DatetimeField(null=True)
    valve_passed_at = fields.DatetimeField(null=True)
    # What a held run would have done (the valve's verdict and the largest drops).
    approval: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    # A scheduled run is enqueued once per (seller, kind, day) even with two schedulers.
    dedupe_key = fields.CharField(max_length=128, null=True, unique=True)
    queued_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    duration_ms = fields.IntField(null=True)

    class Meta:
        table = "sync_run"
        indexes = (
            ("seller_id", "kind", "finished_at"),
            ("seller_id", "state"),
            ("organization_id", "finished_at"),
        )


class SyncedSubscription(Model):
    """The ledger: what was written where, so retries update instead of duplicating."""

    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="ledger", on_delete=fields.CASCADE
    )
    seller_id: str
    subscription: fields.ForeignKeyRelation[Subscription] = fields.ForeignKeyField(
        "models.Subscription", related_name="ledger", on_delete=fields.CASCADE
    )
    subscription_id: int
    halo_client_id = fields.IntField()
    halo_licence_id = fields.IntField(null=True)
    state = fields.CharEnumField(LedgerState, max_length=16, default=LedgerState.PENDING)
    # sha256 of the canonical JSON last confirmed by HaloPSA; unchanged payload → no write.
    payload_hash = fields.CharField(max_length=64, null=True)
    # What we are about to send (written before the POST): lets a resumed run recognise a
    # licence HaloPSA created just before the worker died.
    intent: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    intent_hash = fields.CharField(max_length=64, null=True)
    # The highest HaloPSA licence id seen before the intent's create was sent: only a newer
    # licence can be the one that create made, so a licence entered by hand is never adopted.
    intent_mark = fields.IntField(null=True)
    # The run that last handled this row and what it did: the run's counts, exact across
    # attempts (a resumed attempt does not count a row its run already counted).
    last_run_id = fields.IntField(null=True)
    run_outcome = _nullable(fields.CharEnumField(RunOutcome, max_length=16, null=True))
    written_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "synced_subscription"
        unique_together = (("subscription", "halo_client_id"),)
        indexes = (("seller_id", "halo_client_id"), ("last_run_id", "run_outcome"))


class ReviewState(StrEnum):
    """A HaloPSA client's day-one check, made once before the first push to it."""

    CLEAR = "CLEAR"  # it held no active licence this integration did not write
    PENDING = "PENDING"  # it does: its organisation's push waits for the seller's review
    RESOLVED = "RESOLVED"  # every one of them is claimed or marked not ours


class LicenceDecision(StrEnum):
    UNDECIDED = "UNDECIDED"
    CLAIMED = "CLAIMED"  # it is this subscription's licence: the ledger owns it from now on
    NOT_OURS = "NOT_OURS"  # it stays the seller's own; the sync never touches it


class ClientReview(Model):
    """Day one: what a newly mapped HaloPSA client already held before the first push."""

    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="client_reviews", on_delete=fields.CASCADE
    )
    seller_id: str
    halo_client_id = fields.IntField()
    state = fields.CharEnumField(ReviewState, max_length=16)
    # The organisation mapped to the client when it was checked (names in texts).
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="client_reviews", null=True, on_delete=fields.SET_NULL
    )
    organization_id: int | None
    found_run_id = fields.IntField(null=True)
    checked_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    resolved_by = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "client_review"
        # One check per client: two runs finding the same client meet the constraint.
        unique_together = (("seller", "halo_client_id"),)
        indexes = (("seller_id", "state"),)


class ExistingLicence(Model):
    """A licence a client held before the first push, as HaloPSA had it then."""

    id = fields.IntField(primary_key=True)
    review: fields.ForeignKeyRelation[ClientReview] = fields.ForeignKeyField(
        "models.ClientReview", related_name="licences", on_delete=fields.CASCADE
    )
    review_id: int
    halo_licence_id = fields.IntField()
    # The licence in the ledger's payload shape (``licences.licence_payload``'s keys).
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    decision = fields.CharEnumField(
        LicenceDecision, max_length=16, default=LicenceDecision.UNDECIDED
    )
    subscription: fields.ForeignKeyNullableRelation[Subscription] = fields.ForeignKeyField(
        "models.Subscription", related_name="claimed_licences", null=True, on_delete=fields.SET_NULL
    )
    subscription_id: int | None
    decided_by = fields.CharField(max_length=255, null=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "existing_licence"
        # A licence is decided once, and a subscription claims at most one of them.
        unique_together = (("review", "halo_licence_id"), ("review", "subscription"))


class LogEntry(Model):
    id = fields.BigIntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="log_entries", on_delete=fields.CASCADE
    )
    seller_id: str
    run: fields.ForeignKeyNullableRelation[SyncRun] = fields.ForeignKeyField(
        "models.SyncRun", related_name="log_entries", null=True, on_delete=fields.SET_NULL
    )
    run_id: int | None
    level = fields.CharEnumField(LogLevel, max_length=8)
    created_at = fields.DatetimeField()
    title = fields.CharField(max_length=255)
    details = fields.TextField(default="")
    # The details' stable code and parameters (gateway.messages; ``[[name, value], …]``);
    # entries from before codes existed have none (read as LEGACY).
    code = fields.CharField(max_length=48, null=True)
    params: fields.JSONField[list[Any] | None] = fields.JSONField(null=True)

    class Meta:
        table = "log_entry"
        indexes = (
            ("seller_id", "created_at"),
            ("seller_id", "level", "created_at"),
            ("run_id", "created_at"),
            ("created_at",),
        )


# --- drift: what HaloPSA holds that this integration did not write (#19) --------------------


class DriftKind(StrEnum):
    """How a licence in HaloPSA differs from what the ledger says this integration wrote."""

    EDITED = "EDITED"  # fields changed in HaloPSA since we wrote them
    DEACTIVATED = "DEACTIVATED"  # set inactive in HaloPSA (other fields may differ too)
    DELETED = "DELETED"  # gone from HaloPSA
    FOREIGN = "FOREIGN"  # under a mapped client, never written by this integration


class DriftFinding(Model):
    """One licence of a drift check's report (the seller's latest successful check is the
    report; an older one's rows are replaced in the same transaction)."""

    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="drift_findings", on_delete=fields.CASCADE
    )
    seller_id: str
    run_id = fields.IntField()
    kind = fields.CharEnumField(DriftKind, max_length=16)
    halo_licence_id = fields.IntField()
    halo_client_id = fields.IntField()
    licence_name = fields.CharField(max_length=255)
    # The subscription the ledger says the licence is for (None for a foreign licence).
    subscription: fields.ForeignKeyNullableRelation[Subscription] = fields.ForeignKeyField(
        "models.Subscription", related_name="drift_findings", null=True, on_delete=fields.SET_NULL
    )
    subscription_id: int | None
    # The platform organisation mapped to the licence's client (for paging like the grid).
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="drift_findings", null=True, on_delete=fields.SET_NULL
    )
    organization_id: int | None
    # [{"field", "ours", "theirs"}]: what we wrote → what HaloPSA holds now.
    changes: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    found_at = fields.DatetimeField()

    class Meta:
        table = "drift_finding"
        indexes = (("seller_id", "run_id"), ("seller_id", "halo_licence_id"))


# --- integration issues and webhooks (#20) ---------------------------------------------------


class IssueKind(StrEnum):
    """What went wrong; the seller-visible words are in ``gateway.services.issue_texts``."""

    CONNECTION_REJECTED = "CONNECTION_REJECTED"
    HALO_UNREACHABLE = "HALO_UNREACHABLE"
    RATE_LIMIT_EXHAUSTED = "RATE_LIMIT_EXHAUSTED"
    RECORDS_REJECTED = "RECORDS_REJECTED"
    SYNC_FAILED = "SYNC_FAILED"
    SYNC_OVERDUE = "SYNC_OVERDUE"
    SYNC_NEEDS_APPROVAL = "SYNC_NEEDS_APPROVAL"
    EXISTING_LICENCES_TO_REVIEW = "EXISTING_LICENCES_TO_REVIEW"
    DRIFT_FOUND = "DRIFT_FOUND"


class IssueSeverity(StrEnum):
    CRITICAL = "CRITICAL"
    ERROR = "ERROR"
    WARNING = "WARNING"


class IssueState(StrEnum):
    ONGOING = "ONGOING"
    RESOLVED = "RESOLVED"


class IntegrationIssue(Model):
    """One deduplicated problem of a seller, ONGOING until its cause goes away.

    ``open_key`` is ``seller:kind:subject`` while the issue is ONGOING and NULL once it is
    RESOLVED; it is UNIQUE, so the database (not a read-then-write) keeps one open issue per
    (seller, kind, subject): a second "open" meets the constraint and updates the first.
    """

    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="issues", on_delete=fields.CASCADE
    )
    seller_id: str
    kind = fields.CharEnumField(IssueKind, max_length=32)
    # What the issue is about within its kind: the sync kind for SYNC_OVERDUE / SYNC_FAILED,
    # "" when the kind alone says it (a seller has one connection).
    subject = fields.CharField(max_length=64, default="")
    severity = fields.CharEnumField(IssueSeverity, max_length=16)
    state = fields.CharEnumField(IssueState, max_length=16, default=IssueState.ONGOING)
    open_key = fields.CharField(max_length=200, null=True, unique=True)
    # Bumped by every change (update, resolve, mute): receivers of webhooks and subscribers
    # order what they got by (issue id, sequence), whatever order retries delivered it in.
    sequence = fields.IntField(default=1)
    occurrences = fields.IntField(default=1)
    # What the last occurrence was (a run id, an overdue slot): the same one seen again is
    # not a new occurrence (the overdue check looks every few minutes).
    last_ref = fields.CharField(max_length=128, null=True)
    first_seen_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    muted_until = fields.DatetimeField(null=True)
    first_run_id = fields.IntField(null=True)
    last_run_id = fields.IntField(null=True)
    # The last occurrence's own words (the run's message) and data (rejected records).
    detail = fields.TextField(null=True)
    data: fields.JSONField[Any] = fields.JSONField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "integration_issue"
        indexes = (("seller_id", "state", "last_seen_at"), ("state", "kind"))


class WebhookEndpoint(Model):
    """A seller's receiver of signed events. Removed endpoints stay for the delivery log."""

    id = fields.IntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="webhook_endpoints", on_delete=fields.CASCADE
    )
    seller_id: str
    url = fields.CharField(max_length=2048)
    description = fields.CharField(max_length=255, default="")
    # Event types sent to this endpoint (``issue.opened`` …).
    events: fields.JSONField[list[str]] = fields.JSONField()
    secret_encrypted = fields.TextField()
    # After a rotation the previous secret still signs until it expires (overlap).
    previous_secret_encrypted = fields.TextField(null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    secret_rotated_at = fields.DatetimeField(null=True)
    created_by = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)
    removed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_endpoint"
        indexes = (("seller_id", "removed_at"),)


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookDelivery(Model):
    """One event for one endpoint: the body signed and sent until a 2xx, or failed after 24 h."""

    id = fields.BigIntField(primary_key=True)
    seller: fields.ForeignKeyRelation[Seller] = fields.ForeignKeyField(
        "models.Seller", related_name="webhook_deliveries", on_delete=fields.CASCADE
    )
    seller_id: str
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    endpoint_id: int
    # The Standard Webhooks ``webhook-id``: the same on every attempt, so receivers dedupe.
    message_id = fields.CharField(max_length=64)
    event_type = fields.CharField(max_length=32)
    payload = fields.TextField()
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    # An attempt in progress holds this (two copies of a message never send at once).
    locked_until = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=255, null=True)
    latency_ms = fields.IntField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhook_delivery"
        unique_together = (("endpoint", "message_id"),)
        indexes = (
            ("seller_id", "created_at"),
            ("endpoint_id", "created_at"),
            ("status", "next_attempt_at"),
            ("created_at",),
        )
