"""Every setting of halo-gateway, read from the environment in this one place.

Entry points (``gateway.cli``, ``gateway.app``) build a :class:`Settings` once and pass it
down; nothing else reads ``os.environ``. Values that are secrets are ``SecretStr`` so they
never show up in a repr, a log line or a traceback.

Two modes follow from the settings alone:

* **embedded** (``REDIS_URL`` unset): one process, SQLite, an in-process Dramatiq worker,
  an in-memory event bus;
* **scale-out** (``REDIS_URL`` set): gateway replicas, worker processes and a scheduler share
  Redis (broker, pub/sub, rate limits, locks) and, usually, PostgreSQL.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A development-only signing secret: good enough for `halo-gateway demo` on a laptop, refused
# in production (see `_refuse_development_secrets_in_production`).
DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-0123456789"

# 32 bytes is the HS256 key size that RFC 7518 §3.2 asks for.
MIN_JWT_SECRET_LENGTH = 32

# Request headers a browser page may send cross-origin. Besides the two the API needs, the
# ones that fetch instrumentation adds on its own: W3C trace context (OpenTelemetry), Sentry's
# tracing headers, Apollo Client's client awareness and request ids. A header missing here
# makes the browser's preflight fail and blocks *every* request of that page.
DEFAULT_CORS_ALLOW_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "traceparent",
    "tracestate",
    "sentry-trace",
    "baggage",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-request-id",
)
# Response headers a cross-origin page may read (beyond the CORS-safelisted ones): ``Allow``
# comes with our 405s; ``Retry-After`` and ``X-Request-Id`` are what a rate-limiting proxy or
# load balancer in front adds (the gateway's own limits answer ``retryAfterSeconds``).
DEFAULT_CORS_EXPOSE_HEADERS = ("retry-after", "allow", "x-request-id")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class TrustedDocumentsMode(StrEnum):
    """What happens to an operation outside the trusted documents sent with a browser token."""

    OFF = "off"  # nothing: the list only serves persisted-query hashes
    LOG_ONLY = "log-only"  # run, logged and counted (what enforcing would refuse)
    ENFORCE = "enforce"  # refused; registering new persisted-query hashes is off for browsers


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", case_sensitive=False, frozen=True
    )

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("data")

    # --- storage -------------------------------------------------------------------------
    # Empty means "a SQLite file in data_dir" (see `database_url_resolved`).
    database_url: str = ""
    redis_url: str | None = None
    # Apply pending migrations when a gateway starts. The scale-out recipe turns this off and
    # runs `halo-gateway migrate` once before the replicas start.
    migrate_on_start: bool = True
    # Dramatiq queue names and Redis keys are prefixed with this, so several deployments
    # (or parallel test runs) can share one Redis.
    redis_namespace: str = "halo-gateway"
    # SQLite: how long a writer waits for another connection's write lock before answering
    # DATABASE_BUSY. The embedded worker writes in short transactions; 10 s covers a bulk
    # import of 1,000 rows on a slow disk.
    sqlite_busy_timeout_ms: int = 10_000

    # A worker that stopped heart-beating this long is dead: its messages are redelivered.
    broker_heartbeat_timeout_ms: int = 30_000
    # Out of a million broker commands, how many also run queue maintenance (which is what
    # redelivers a dead worker's messages). Dramatiq's default (1,000) means minutes.
    broker_maintenance_chance: int = 10_000

    # --- auth ----------------------------------------------------------------------------
    # HS256 signing secrets, comma-separated: the first signs (`halo-gateway token`), every
    # one verifies, so a secret is rotated by putting the new one first, waiting one token
    # lifetime, then removing the old one (see README "For frontend teams").
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_algorithm: str = "HS256"
    # PEM public key(s) for RS256/ES256 tokens minted by the platform's identity provider:
    # several PEM blocks one after the other are a key list, each verifies (rotation).
    jwt_public_key: SecretStr | None = None
    jwt_issuer: str = "halo-gateway"
    jwt_audience: str = "halo-gateway"
    # Clock skew tolerated when checking exp/nbf: the platform's clocks are not ours. An
    # open websocket is closed (4401) when its token would be refused over HTTP: exp + leeway.
    jwt_leeway_seconds: int = 30

    # --- secrets at rest ---------------------------------------------------------------------
    # Comma-separated Fernet keys; the first encrypts, all decrypt (key rotation, see README).
    secrets_key: SecretStr | None = None

    # --- HaloPSA -------------------------------------------------------------------------
    # A HaloPSA call that has not answered in 20 s is treated as a timeout and retried.
    halo_timeout_seconds: float = 20.0
    # After a write whose answer was lost, wait this long (and at least the timeout above)
    # before reading back what HaloPSA stored: HaloPSA may commit after it stopped answering.
    halo_readback_delay_seconds: float = 20.0
    halo_max_retries: int = 5
    # Hosted HaloPSA allows 300 requests per rolling 5 minutes per instance.
    halo_rate_limit_requests: int = 300
    halo_rate_limit_window_seconds: float = 300.0

    # --- sync rules ----------------------------------------------------------------------
    sync_cooldown_minutes: int = 60
    # A run whose worker stopped renewing its lease for this long may be taken over. A live
    # execution renews it every third of this in the background (services/sync/runs.py), so
    # it only needs to outlast a couple of missed renewals; a killed worker's run resumes
    # about this long after Dramatiq redelivers its message (broker heartbeat timeout).
    sync_lease_seconds: int = 30
    # Scale-out: a run still QUEUED this long after it was queued (or last re-sent) has its
    # message sent again by the scheduler — Redis lost it (a restart without persistence).
    # Longer than a queued run waits for a free worker on a busy evening (seconds: the
    # schedule's spread), so re-sends are rare; a re-send that finds the run under way drops
    # itself. Below the queued run's lease (15 minutes), which stays the last resort.
    sync_requeue_after_seconds: float = Field(default=120.0, gt=0, lt=15 * 60)
    organizations_sync_cron_hour: int = 8
    subscriptions_sync_cron_hour: int = 18
    # Each seller's scheduled runs start at the hour above plus its own offset within this
    # window (a hash of its id: the same minute every day), so 10,000 sellers' daily runs
    # reach the database, the broker and the workers as a steady stream, not a herd at
    # 18:00. 45 minutes leaves a run of 2,000 licences time to finish within the hour.
    # 0: every seller at the hour.
    scheduled_sync_spread_minutes: int = Field(default=45, ge=0, lt=24 * 60)
    log_retention_days: int = 30

    # --- web -----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    # The GraphiQL IDE on GET /graphql and schema introspection. Unset: on, except in
    # production, where the IDE (a page loading scripts from a CDN onto our origin) and a
    # self-describing schema only help an attacker; the frontend builds against the
    # committed schema.graphql. Set either explicitly to override.
    graphiql: bool | None = None
    introspection: bool | None = None
    # Deepest selection a query may have (introspection is not counted by the limiter).
    graphql_max_depth: int = 12
    # Browser origins (``https://app.example.com``, or ``*``) allowed to call the API: CORS
    # for HTTP and the Origin check of websocket handshakes. Empty: same origin only.
    cors_origins: list[str] = Field(default_factory=list)
    # JSON lists. Allow-headers: what cross-origin pages may send (``["*"]``: anything);
    # expose-headers: what they may read.
    cors_allow_headers: list[str] = Field(default_factory=lambda: [*DEFAULT_CORS_ALLOW_HEADERS])
    cors_expose_headers: list[str] = Field(default_factory=lambda: [*DEFAULT_CORS_EXPOSE_HEADERS])
    # How long a browser may cache a preflight answer: one preflight per page and 10 min
    # instead of one per request (Chromium caps it at 2 h, Firefox at 24 h).
    cors_max_age_seconds: int = 600
    # A websocket that has not sent ``connection_init`` by then is closed with 4408. The
    # graphql-ws reference server waits 3 s; 10 s leaves room for a page that fetches a fresh
    # token before it connects, and still frees an idle unauthenticated socket quickly.
    ws_connection_init_timeout_seconds: float = 10.0
    # permessage-deflate on websockets: off. Sync events are small JSON; compressing each one
    # per socket cost more CPU than the bytes it saved and doubled a socket's memory (zlib
    # state per connection: 81 KB vs 39 KB measured, bench/bench_subscribers.py).
    ws_per_message_deflate: bool = False
    # What a page that reconnects can be given back (syncEvents(afterSequence:)): the last
    # N events of each seller, kept this long after the seller's last event (a Redis Stream
    # per seller in scale-out, memory in embedded mode). Older: RESYNC.
    event_replay_max_events: int = 1000
    event_replay_seconds: int = 3600
    # The seller's pages (the web app on ``/``). Unset: on, except in production, where the
    # platform's own frontend usually serves them; WEB_APP=true serves them there too.
    web_app: bool | None = None
    # Origins of the platform shell that may frame the app (CSP ``frame-ancestors``) and hand
    # it tokens by postMessage. Empty: the app cannot be framed and listens to no shell.
    web_frame_ancestors: list[str] = Field(default_factory=list)
    # How long a session token (what the app swaps a handed-over token for) lives: short, so a
    # token copied out of a tab is soon worthless; the app renews it before it runs out, never
    # past the handed-over token's own expiry.
    session_token_seconds: int = 900

    # --- trusted documents and query cost (README "Trusted documents and query cost") -------
    # Browser tokens (client_kind claim) and operations outside the allow-list: log them first,
    # enforce once the log is quiet. Integrator tokens are never held to the list.
    trusted_documents: TrustedDocumentsMode = TrustedDocumentsMode.LOG_ONLY
    # More allow-list manifests (JSON list of paths) besides those shipped in
    # schema/trusted_documents/: another frontend's documents, deployed with the gateway.
    trusted_documents_files: list[Path] = Field(default_factory=list)
    # The price one operation may have (fields × the page sizes they ask for, schema/cost.py):
    # the web app's dearest document at its largest page costs 101, previewSync with every
    # field at 100 organisations ~11,600; 30 aliases of it would cost 350,000.
    query_cost_limit: int = 15_000
    # What one seller's operations may cost together per minute, all tokens and replicas
    # (in Redis when configured): ~1,000 grid pages of 100 rows, ~100 upserts of 1,000
    # items or 8 full previews.
    query_cost_budget_per_minute: int = 100_000

    # --- embedded worker -------------------------------------------------------------------
    embedded_worker_threads: int = 2
    # The daily schedule inside the gateway process: on by default in embedded mode (nobody
    # else would run it); scale-out runs `halo-gateway scheduler` instead.
    in_process_scheduler: bool | None = None

    # --- webhooks and the watchdog (issues) ---------------------------------------------------
    # Webhook receivers on private, loopback, link-local and unique-local addresses (a local
    # receiver in development and tests). Unset: allowed except in production, where the
    # gateway must not become a way into the network it runs in. Cloud metadata addresses are
    # refused whatever this says.
    webhook_allow_private_addresses: bool | None = None
    # One attempt, connection to last byte: a receiver should answer at once and work later.
    webhook_timeout_seconds: float = 10.0
    # Retries double from the first delay up to the largest, for the window, then FAILED:
    # 30 s, 1 min, 2 min … 4 h, about a dozen attempts in 24 h (tests scale these down).
    webhook_retry_first_delay_seconds: float = 30.0
    webhook_retry_max_delay_seconds: float = 4 * 3600.0
    webhook_retry_window_seconds: float = 24 * 3600.0
    # Deliveries in flight per worker process. The worker gets this many threads on top of its
    # sync threads and a delivery never takes more, so a slow receiver never delays a sync.
    webhook_delivery_concurrency: int = 2
    webhook_retention_days: int = 30
    # After a secret rotation the old secret keeps signing (a second signature) this long, so
    # receivers can switch without losing events.
    webhook_secret_overlap_hours: float = 24.0
    # How often each worker process looks for overdue syncs, lost deliveries and expired log
    # rows. Apart from the scheduler, so a dead scheduler is itself reported.
    watchdog_interval_seconds: float = 300.0

    # --- logging ---------------------------------------------------------------------------
    log_level: str = "INFO"
    log_format: str = "text"  # "json" for JSON lines

    @property
    def embedded(self) -> bool:
        return not self.redis_url

    @property
    def database_url_resolved(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{self.data_dir / 'halo-gateway.sqlite3'}"

    @property
    def scheduler_runs_in_process(self) -> bool:
        if self.in_process_scheduler is None:
            return self.embedded
        return self.in_process_scheduler

    @property
    def outside_production(self) -> bool:
        """What the development conveniences below default to (set, each one wins)."""
        return self.environment is not Environment.PRODUCTION

    @property
    def graphiql_enabled(self) -> bool:
        return self.outside_production if self.graphiql is None else self.graphiql

    @property
    def web_app_enabled(self) -> bool:
        return self.outside_production if self.web_app is None else self.web_app

    @property
    def introspection_enabled(self) -> bool:
        return self.outside_production if self.introspection is None else self.introspection

    @property
    def loopback_http_allowed(self) -> bool:
        """Plain-http HaloPSA URLs on loopback hosts (the simulator) outside production."""
        return self.outside_production

    @property
    def webhook_private_addresses_allowed(self) -> bool:
        allow = self.webhook_allow_private_addresses
        return self.outside_production if allow is None else allow

    @property
    def webhook_plain_http_allowed(self) -> bool:
        """Webhook URLs must be https in production (the payload names the seller's problems)."""
        return self.outside_production

    @property
    def jwt_secrets(self) -> list[str]:
        """The HS secrets in order: the first signs, all verify."""
        return [
            part.strip() for part in self.jwt_secret.get_secret_value().split(",") if part.strip()
        ]

    @property
    def jwt_public_keys(self) -> list[str]:
        """Each PEM block of ``JWT_PUBLIC_KEY`` (a key list for rotation)."""
        if self.jwt_public_key is None:
            return []
        text = self.jwt_public_key.get_secret_value().replace("\\n", "\n")
        blocks = re.findall(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", text, re.S)
        return blocks or [text]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url_resolved.startswith("sqlite")

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        problems = []
        if self.jwt_public_key is None:
            secrets = self.jwt_secrets
            if not secrets or any(
                secret == DEV_JWT_SECRET or len(secret) < MIN_JWT_SECRET_LENGTH
                for secret in secrets
            ):
                problems.append(
                    f"JWT_SECRET must be set to a random value of at least "
                    f"{MIN_JWT_SECRET_LENGTH} characters (or JWT_PUBLIC_KEY for RS256)"
                )
        if self.secrets_key is None:
            problems.append("SECRETS_KEY (a Fernet key) must be set to encrypt HaloPSA secrets")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self
