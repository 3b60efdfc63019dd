"""Process logging for operators (not the seller-visible log entries, see services/logs.py).

Plain text for a terminal, JSON lines (``LOG_FORMAT=json``) for production: ``time``,
``level``, ``event`` (the message), ``name`` (the logger) and, inside a sync run, the
``seller_id`` and ``run_id`` that :func:`log_context` set — also on the lines of code that
knows nothing of sellers (the HaloPSA client's retries, httpx, Tortoise).

Secrets: our code never logs the HaloPSA client secret, access tokens, JWTs or Authorization
headers. As a second line of defence the formatters mask anything shaped like them in all
of a line — message, arguments, ``extra`` fields and tracebacks, since an exception message
can quote a URL, a request body or a response. Masking goes by the *shape of the value*
(a Bearer credential, a JWT, a URL's password, a query-string or form parameter, a quoted
JSON/dict value under a secret-sounding key), not by a key name followed by anything: the
source lines of a traceback (``token = self.lookahead()``, ``password: str | None = None``)
are code, and stay readable.

Client errors are logged through :class:`KeyedLineBudget`, which caps the lines one client
can cause (see ``schema.errors``).

ERROR lines and tracebacks are for our faults. An unreachable Redis is an operational condition
the processes ride out, so :class:`BrokerOutageFilter` turns Dramatiq's own lines about it
(CRITICAL every 3 s per consumer thread, some with a traceback) into one WARNING per outage.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.settings import Settings

REDACTED = "[REDACTED]"

# Names whose value is a credential: a form or query parameter (client_secret=…), a JSON or
# dict key ("access_token": …) or a structured log field.
_SECRET_KEYS = (
    r"client_secret|access_token|refresh_token|id_token|password|secret|token|authorization"
    r"|api_key|apikey"
)
_SECRET_KEY = re.compile(rf"(?i)^(?:{_SECRET_KEYS})$")
# A key that merely *contains* a secret word (``jwt_secret``, ``x-auth-token``) counts too.
_KEY = rf"[\w-]*(?:{_SECRET_KEYS})[\w-]*"
_NOT_MASKED = r"(?!\[REDACTED\])"
_SECRET_PATTERNS = [
    # "Bearer <token>" / "Basic <credentials>": the Authorization header's value.
    (
        re.compile(r"(?i)\b(bearer|basic)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}"),
        rf"\1 {REDACTED}",
    ),
    # The password of a URL (a database or Redis URL in a connection error).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    # A JWT anywhere (three base64url parts, the first a JSON object: "eyJ").
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    # "key": "value" / 'key': 'value' (JSON, a dict's repr): both sides quoted, so data.
    (
        re.compile(rf"(?i)([\"']{_KEY}[\"']\s*:\s*)([\"']){_NOT_MASKED}[^\"']*\2"),
        rf"\1\2{REDACTED}\2",
    ),
    # key='value' (a dataclass or keyword repr): a quoted value right after "=".
    (
        re.compile(rf"(?i)(\b{_KEY}=)([\"']){_NOT_MASKED}[^\"']*\2"),
        rf"\1\2{REDACTED}\2",
    ),
    # key=value in a query string, a form body or a "k=v k2=v2" message: no spaces around
    # "=", and a value that is not an expression (code like ``token=self.next()`` keeps
    # its call; a value has no parentheses or brackets).
    (
        re.compile(
            rf"(?i)((?:^|(?<=[\s?&;,({{]))[\"']?{_KEY}[\"']?=)"
            rf"{_NOT_MASKED}(?!(?:bearer|basic)\s)(?![\w.]*[(\[])[^\s\"'&,;}}\])]+"
        ),
        rf"\1{REDACTED}",
    ),
    # An HTTP header line "Authorization: <value>" (other schemes than Bearer/Basic); only
    # header-shaped names, since "password: str" at a line's start is a type annotation.
    (
        re.compile(
            r"(?im)^(\s*(?:proxy-)?(?:authorization|x-[\w-]*(?:token|key|secret)[\w-]*):[ \t]*)"
            rf"{_NOT_MASKED}(?!(?:bearer|basic)\s)\S.*$"
        ),
        rf"\1{REDACTED}",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any, key: str | None = None) -> Any:
    if key is not None and _SECRET_KEY.match(key) and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


class RedactingTextFormatter(logging.Formatter):
    """The text format, masked as a whole line, with the seller / run ids appended."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{key}={getattr(record, key)}" for key in CONTEXT_KEYS if hasattr(record, key)
        )
        return redact(f"{line} [{context}]" if context else line)


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines whose every field is masked before it is serialised (no escaping games)."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: _redact_value(value, key) for key, value in log_data.items()}


# --- a line budget per key (client errors) --------------------------------------------------


class KeyedLineBudget:
    """At most ``lines`` log lines per key per ``window`` seconds; the rest are counted.

    ``admit(key)`` answers (log it?, how many were held back since the last admitted line),
    so the next admitted line can say how many it stands for. Keys are kept for the
    ``max_keys`` most recent clients only, so a flood from many addresses cannot grow it
    without bound.
    """

    def __init__(
        self,
        lines: int,
        window: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lines = lines
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        # key -> [window start, lines admitted in it, held back since the last admitted]
        self._keys: OrderedDict[str, list[float]] = OrderedDict()

    def admit(self, key: str) -> tuple[bool, int]:
        now = self.clock()
        with self._lock:
            entry = self._keys.pop(key, None)
            if entry is None or now - entry[0] >= self.window:
                held_back = int(entry[2]) if entry is not None else 0
                entry = [now, 0.0, float(held_back)]
            self._keys[key] = entry
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            if entry[1] >= self.lines:
                entry[2] += 1
                return False, 0
            entry[1] += 1
            held_back, entry[2] = int(entry[2]), 0.0
            return True, held_back


# --- seller / run ids on every line of a unit of work ---------------------------------------

CONTEXT_KEYS = ("seller_id", "run_id")
_context: ContextVar[Mapping[str, Any] | None] = ContextVar("halo_log_context", default=None)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every process log line emitted inside the block (in this task and the tasks it
    starts) carries these fields, e.g. ``log_context(seller_id=…, run_id=…)`` around a run."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):  # an explicit ``extra`` wins
                setattr(record, key, value)
        return True


# --- Dramatiq's lines about an unreachable Redis ---------------------------------------------

# An outage is over once Dramatiq's consumers have said nothing about Redis for this long.
# While it lasts each consumer thread fails again at least every ~8 s (its 3 s restart delay,
# plus up to the broker's 5 s connect timeout) and a pending ack every 5 s; so a quiet 30 s
# means they reconnected, and the next failure is a new outage with a WARNING of its own.
BROKER_OUTAGE_QUIET_SECONDS = 30.0
# Where Dramatiq logs a lost connection: the consumer threads ("dramatiq.worker.
# ConsumerThread(<queue>)": fetch, ack, requeue) and the worker (requeue at shutdown).
_DRAMATIQ_WORKER_LOGGERS = ("dramatiq.worker.ConsumerThread(", "dramatiq.worker.Worker")
# Its templates (dramatiq/worker.py) for a lost connection without an exception attached.
_CONNECTION_ERROR_MSG = "Consumer encountered a connection error: %s"
_POST_PROCESS_MSG_START = "Failed to post_process_message("
_RESTARTING_MSG = "Restarting consumer in %0.2f seconds."


def _is_redis_unreachable(exc: BaseException | None) -> bool:
    """Redis could not be reached: redis-py's connection and timeout errors (Dramatiq does not
    wrap a timeout), or Dramatiq's ``BrokerConnectionError`` (named, not imported: the core
    does not import Dramatiq)."""
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return True
    return exc is not None and any(
        cls.__name__ == "BrokerConnectionError" and cls.__module__.startswith("dramatiq")
        for cls in type(exc).__mro__
    )


class BrokerOutageFilter(logging.Filter):
    """One WARNING per Redis outage instead of Dramatiq's CRITICAL lines and tracebacks.

    Dramatiq's consumer threads log CRITICAL "Consumer encountered a connection error" (and,
    for a timeout, "an unexpected error" with a traceback) every 3 s each while Redis is away,
    then re-poll; acks are retried with a WARNING every 5 s. Dramatiq recovers by itself and
    nothing is ours to fix, so the first such line of an outage becomes a WARNING without
    traceback, the rest of it (and the consumers' "Restarting consumer" lines) are dropped.
    A failure that is not a connection error keeps its level and traceback, and so do
    middleware failures ("Unexpected failure in …", logged by the broker), which may lose work.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.clock = clock
        self._lock = threading.Lock()
        self._last_failure: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(_DRAMATIQ_WORKER_LOGGERS):
            return True
        now = self.clock()
        with self._lock:
            in_outage = (
                self._last_failure is not None
                and now - self._last_failure < BROKER_OUTAGE_QUIET_SECONDS
            )
            if record.msg == _RESTARTING_MSG:
                return not in_outage
            cause = self._connection_failure(record)
            if cause is None:
                return True
            self._last_failure = now
            if in_outage:
                return False
        record.msg = (
            "Redis unreachable (%s): Dramatiq's consumers re-poll and retry acks until it is back"
        )
        record.args = (cause,)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True

    @staticmethod
    def _connection_failure(record: logging.LogRecord) -> str | None:
        """What failed, if the record is Dramatiq's about a lost connection to Redis."""
        exc = record.exc_info[1] if record.exc_info else None
        if _is_redis_unreachable(exc):
            return str(exc)
        if record.msg == _CONNECTION_ERROR_MSG and isinstance(record.args, tuple):
            return str(record.args[0])
        if str(record.msg).startswith(_POST_PROCESS_MSG_START) and isinstance(record.args, tuple):
            return str(record.args[1])  # (message, error, retry delay)
        return None


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            RedactingJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "message": "event", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(
            RedactingTextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        )
    handler.addFilter(ContextFilter())
    handler.addFilter(BrokerOutageFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # httpx logs every request URL at INFO; our client reports what matters itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # One line per job added at start-up says nothing an operator needs.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
