"""The async HaloPSA client: OAuth2 client credentials, paging, batched licence writes, retries.

One instance per sync run (or connection test); it counts what it did in ``stats`` so the run
can record its HaloPSA budget. Every request first takes a slot from the rate limiter (keyed by
the HaloPSA host), then goes out with a cached bearer token. Reactions:

* 401 → the token is refreshed once and the request repeated; a second 401 is fatal;
* 502, 503, 504, 500, timeouts and dropped connections → jittered exponential back-off, at
  most ``max_retries`` times — except for a POST that creates licences, where an answer lost
  after sending raises ``HaloOutcomeUnknown`` (never a blind resend: the caller reads back);
* 429 → wait for the rolling window to admit again (``Retry-After`` honoured if HaloPSA ever
  sends one), for up to ``rate_limit_patience`` seconds, then ``HaloRateLimited``;
* other 4xx → no retry: 400 is a rejected record, 403 a missing permission, 404 not found.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from gateway.halopsa.errors import (
    HaloAuthError,
    HaloError,
    HaloIncompleteRead,
    HaloNotFound,
    HaloOutcomeUnknown,
    HaloPermissionError,
    HaloRateLimited,
    HaloRecordRejected,
    HaloRequestError,
    HaloUnavailable,
    error_message,
)
from gateway.halopsa.records import (
    CallStats,
    ClientRecord,
    HaloCredentials,
    LicencePage,
    LicenceRecord,
    LicenceWrite,
    WriteOutcome,
)

logger = logging.getLogger(__name__)

# HaloPSA returns at most 100 rows a page whatever page_size asks for.
PAGE_SIZE = 100
# Licences per POST array: 50 keeps a request well under HaloPSA's body limits and makes
# the 300-requests budget carry 15,000 records per 5 minutes.
WRITE_BATCH_SIZE = 50
DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_MAX_RETRIES = 5
# Back-off: 0.5 s, 1 s, 2 s, … capped at 30 s, each with ±50 % jitter so that several
# workers do not retry in lock-step.
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
# Refresh the token this long before HaloPSA says it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 60.0
RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Answers after which a write may or may not have been stored (503 and 429 say it was not).
OUTCOME_UNKNOWN_STATUSES = frozenset({500, 502, 504})
# Failures that happen before a request leaves: safe to send again even when it creates.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# HaloPSA's rolling rate window when the limiter does not say (hosted: 300 s).
DEFAULT_RATE_WINDOW_SECONDS = 300.0
# After a 429 without Retry-After, look again after this share of the window: the window
# frees as the oldest requests age out of it, not all at once.
RATE_LIMIT_PROBE_FRACTION = 0.1
# How long one request waits on 429s before it gives up with HaloRateLimited (its
# ``retry_after`` tells the caller when to try again, e.g. by re-queueing the run): one
# window, since by then every request counted against it has aged out.
DEFAULT_RATE_LIMIT_PATIENCE_SECONDS = DEFAULT_RATE_WINDOW_SECONDS


class HaloClient:
    def __init__(
        self,
        credentials: HaloCredentials,
        *,
        rate_limiter: Any = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        backoff_max: float = BACKOFF_MAX_SECONDS,
        batch_size: int = WRITE_BATCH_SIZE,
        rate_limit_patience: float | None = None,
        leave_for_others: int = 0,
    ) -> None:
        self.credentials = credentials
        self.rate_limiter = rate_limiter
        # Slots of the rate window this client leaves to others (``RateLimiter.acquire``): a
        # background reader gives way to the writers sharing the instance's budget.
        self.leave_for_others = leave_for_others
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.batch_size = batch_size
        if rate_limit_patience is None:
            window = getattr(rate_limiter, "window", None)
            rate_limit_patience = float(window) if window else DEFAULT_RATE_LIMIT_PATIENCE_SECONDS
        self.rate_limit_patience = rate_limit_patience
        self.stats = CallStats()
        # Awaited right before each API POST leaves, after the limiter and the token: the sync's
        # fence (``Progress.fence``), which raises if another execution took the run over
        # while this one waited or was frozen — so a worker paused between recording its
        # intents and sending them never sends beside its successor (which has read back
        # and written those records itself). Checked at the last moment, the window left is
        # the few microseconds from here to the socket.
        self.before_write: Callable[[], Awaitable[None]] | None = None
        self._api = credentials.resource_server.rstrip("/")
        self._token_url = credentials.authorization_server.rstrip("/") + "/token"
        self._limiter_key = urlsplit(self._api).netloc or self._api
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._token: str | None = None
        self._token_expires = 0.0
        # The permissions HaloPSA granted the last token (its ``scope``), None when it said
        # nothing: what the connection test reads to tell a missing permission in advance.
        self.granted_scopes: frozenset[str] | None = None
        self._token_lock = asyncio.Lock()

    async def __aenter__(self) -> HaloClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- auth ---------------------------------------------------------------------------

    async def _access_token(self, *, force: bool = False) -> str:
        stale = self._token
        async with self._token_lock:
            # Another caller may have refreshed while we waited for the lock.
            token = self._token
            if (
                token is not None
                and time.monotonic() < self._token_expires
                and (not force or token != stale)
            ):
                return token
            self._token = await self._fetch_token()
            return self._token

    async def _fetch_token(self) -> str:
        creds = self.credentials
        params = {"tenant": creds.tenant} if creds.tenant else None
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "scope": "all",
        }
        response = await self._send("POST", self._token_url, params=params, data=form, auth=False)
        if response.status_code != 200:
            raise HaloAuthError(
                "HaloPSA refused the client credentials: "
                + (error_message(response.text) or f"HTTP {response.status_code}"),
                status=response.status_code,
                body=response.text,
            )
        try:
            payload = response.json()
            token = str(payload["access_token"])
            lifetime = float(payload.get("expires_in") or 3600)
            self.granted_scopes = _scopes(payload.get("scope")) or _jwt_scopes(token)
        except (ValueError, KeyError, TypeError) as exc:
            raise HaloAuthError(
                "The authorisation server did not answer like HaloPSA.", status=200
            ) from exc
        self._token_expires = time.monotonic() + max(1.0, lifetime - TOKEN_REFRESH_MARGIN_SECONDS)
        if lifetime <= TOKEN_REFRESH_MARGIN_SECONDS:
            self._token_expires = time.monotonic() + lifetime / 2
        return token

    # --- transport ------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        auth: bool = True,
        replay_safe: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with limiter, token, retries; returns any non-retriable answer.

        ``replay_safe=False`` (a POST that creates records): once the request may have reached
        HaloPSA, a lost or ambiguous answer raises :class:`HaloOutcomeUnknown` instead of
        sending it again — a blind resend is how duplicate licences are made. Failures before
        the request left (connection refused, no pooled connection) and answers that say
        nothing was done (429, 503) are retried as for any request.
        """
        refreshed = False
        attempt = 0
        rate_limited_for = 0.0
        path = urlsplit(url).path
        while True:
            if self.rate_limiter is not None:
                self.stats.wait_seconds += await self._acquire_slot()
            headers = {"Accept": "application/json"}
            if auth:
                headers["Authorization"] = f"Bearer {await self._access_token()}"
            self.stats.calls += 1
            retry_after: float | None = None
            status: int | None = None
            if method == "POST" and auth and self.before_write is not None:
                await self.before_write()
            try:
                response = await self._http.request(method, url, headers=headers, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if isinstance(exc, httpx.ConnectError) and _is_tls(exc):
                    raise HaloUnavailable(f"TLS error talking to HaloPSA: {exc}") from exc
                cause = _transport_cause(exc)
                if not replay_safe and not isinstance(exc, _NOT_SENT):
                    raise HaloOutcomeUnknown(
                        f"HaloPSA {method} {path}: {cause} after the request was sent",
                        cause=cause,
                    ) from exc
                failure: Exception = exc
            else:
                if auth and response.status_code == 401 and not refreshed:
                    refreshed = True
                    await self._access_token(force=True)
                    continue
                if response.status_code not in RETRIABLE_STATUSES:
                    return response
                status = response.status_code
                cause = f"HTTP {status}"
                if not replay_safe and status in OUTCOME_UNKNOWN_STATUSES:
                    raise HaloOutcomeUnknown(
                        f"HaloPSA {method} {path}: {cause} after the request was sent",
                        cause=cause,
                        status=status,
                        body=response.text[:500],
                    )
                failure = HaloError(error_message(response.text), status=status)
                retry_after = _retry_after(response)
            if status == 429:
                # HaloPSA's window is rolling (and shared with other integrations of the
                # instance): wait for it to admit again rather than spend the retry budget.
                self.stats.rate_limited += 1
                delay = retry_after if retry_after is not None else self._rate_limit_wait()
                if rate_limited_for + delay > self.rate_limit_patience:
                    raise HaloRateLimited(
                        f"HaloPSA {method} {path}: rate limit reached for {rate_limited_for:.0f}s",
                        status=429,
                        retry_after=delay,
                    ) from failure
                rate_limited_for += delay
            else:
                if attempt >= self.max_retries:
                    raise HaloUnavailable(
                        f"HaloPSA {method} {path} failed after {attempt + 1} tries ({cause})",
                        status=status,
                    ) from failure
                delay = retry_after if retry_after is not None else self._backoff(attempt)
                attempt += 1
            self.stats.retries += 1
            self.stats.wait_seconds += delay
            logger.info(
                "HaloPSA %s %s: %s; retry %d in %.2fs",
                method,
                path,
                cause,
                self.stats.retries,
                delay,
                extra={"cause": cause, "retry": self.stats.retries, "wait_seconds": delay},
            )
            await asyncio.sleep(delay)

    async def _acquire_slot(self) -> float:
        if self.leave_for_others > 0:
            waited: float = await self.rate_limiter.acquire(
                self._limiter_key, leave=self.leave_for_others
            )
            return waited
        waited = await self.rate_limiter.acquire(self._limiter_key)
        return waited

    def _rate_limit_wait(self) -> float:
        """How long to wait after a 429 that names no Retry-After: a slice of the window."""
        window = getattr(self.rate_limiter, "window", None) or DEFAULT_RATE_WINDOW_SECONDS
        return float(window) * RATE_LIMIT_PROBE_FRACTION * random.uniform(0.8, 1.2)

    def _backoff(self, attempt: int) -> float:
        base = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        return base * random.uniform(0.5, 1.5)

    async def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = await self._send("GET", self._api + path, params=params)
        _raise_for_status(response)
        try:
            return response.json()
        except ValueError as exc:
            raise HaloRequestError(
                "HaloPSA answered with something that is not JSON.",
                status=response.status_code,
                body=response.text[:500],
            ) from exc

    # --- clients --------------------------------------------------------------------------

    async def iter_clients(self, *, include_inactive: bool = True) -> AsyncIterator[ClientRecord]:
        params: dict[str, Any] = {}
        if include_inactive:
            params = {"includeactive": "true", "includeinactive": "true"}
        async for row in self._pages("/Client", "clients", params):
            yield ClientRecord.from_json(row)

    async def get_client(self, client_id: int) -> ClientRecord:
        return ClientRecord.from_json(await self._get_json(f"/Client/{client_id}"))

    # --- licences -------------------------------------------------------------------------
    #
    # One listing of GET /SoftwareLicence (``_licence_page`` spells the request, and
    # ``iter_licence_pages`` walks it); every other way of reading licences in bulk is a thin
    # view of it:
    #
    #   iter_licence_pages(client_id=None)    pages, id order: the drift check streams them
    #   ├── iter_licences(client_id)         the records of one client's pages
    #   ├── read_licences(client_id=None)    the whole list or HaloIncompleteRead
    #   │   └── read_licences_of(ids)        several clients, by the fewer requests
    #   licence_count(), highest_licence_id()  one row of the same listing
    #
    # Requests are the client's like any other: they take the limiter's slot (a client built
    # with ``leave_for_others`` gives way to the writers) and wait out 429s.

    async def _licence_page(
        self,
        page_no: int,
        *,
        client_id: int | None = None,
        page_size: int = PAGE_SIZE,
        newest_first: bool = False,
    ) -> LicencePage:
        """One page of the licence listing, inactive licences too, in id order."""
        params: dict[str, Any] = {
            "includeinactive": "true",
            "order": "id",
            "pageinate": "true",
            "page_size": page_size,
            "page_no": page_no,
        }
        if newest_first:
            params["orderdesc"] = "true"
        if client_id is not None:
            params["client_id"] = client_id
        body = await self._get_json("/SoftwareLicence", params)
        rows = body.get("licences") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise HaloIncompleteRead("HaloPSA's licence list had no licences.")
        # No record_count (a HaloPSA that leaves it out): the short page ends the list.
        count = body.get("record_count")
        return LicencePage(
            page_no=page_no,
            record_count=int(count) if count is not None else None,
            licences=[LicenceRecord.from_json(row) for row in rows],
        )

    async def iter_licence_pages(
        self, *, client_id: int | None = None
    ) -> AsyncIterator[LicencePage]:
        """Every licence of the instance (of one client with ``client_id``), inactive ones
        too: 100 a page in id order, so ⌈licences / 100⌉ requests for the whole instance
        instead of at least one per client.

        Stops at the page that reaches the ``record_count`` HaloPSA gives (or a short one).
        Ids only grow, so licences created during the read come last and shift nothing;
        a deletion during the read shifts later pages and can hide a licence from them, which
        only a lower ``record_count`` on a later page tells (``read_licences`` refuses such a
        list). A page that goes back in the id order (HaloPSA ignored ``order`` or repeated a
        page) raises :class:`HaloIncompleteRead` rather than hand out a list nobody can trust.
        """
        page_no = 1
        received = 0
        last_id: int | None = None
        while True:
            page = await self._licence_page(page_no, client_id=client_id)
            records = page.licences
            if records and last_id is not None and records[0].id <= last_id:
                raise HaloIncompleteRead(
                    f"HaloPSA's licence page {page_no} went back to licence {records[0].id} "
                    f"after {last_id}: the list is not in id order."
                )
            if records:
                last_id = records[-1].id
            yield page
            received += len(records)
            reached = page.record_count is not None and received >= page.record_count
            if not records or reached or len(records) < PAGE_SIZE:
                return
            page_no += 1

    async def iter_licences(self, *, client_id: int) -> AsyncIterator[LicenceRecord]:
        """One client's licences as they come, page by page."""
        async for page in self.iter_licence_pages(client_id=client_id):
            for record in page.licences:
                yield record

    async def read_licences(self, *, client_id: int | None = None) -> list[LicenceRecord]:
        """Every licence of a client (of the instance when ``client_id`` is None), or
        :class:`HaloIncompleteRead` — never a partial list.

        Used to decide what a lost answer did, and what a client held before the first push,
        so it must be trustworthy: pages in id order, ``record_count`` the same on every page,
        no id twice, and as many rows as it says.
        """
        rows: dict[int, LicenceRecord] = {}
        expected: int | None = None
        async for page in self.iter_licence_pages(client_id=client_id):
            if page.record_count is None:
                raise HaloIncompleteRead("HaloPSA's licence list had no record_count.")
            if expected is None:
                expected = page.record_count
            elif page.record_count != expected:
                raise HaloIncompleteRead(
                    f"HaloPSA's licence count changed while reading "
                    f"({expected} → {page.record_count})."
                )
            for record in page.licences:
                if record.id in rows:
                    raise HaloIncompleteRead(f"HaloPSA listed licence {record.id} twice.")
                rows[record.id] = record
        if len(rows) != expected:
            raise HaloIncompleteRead(
                f"HaloPSA listed {len(rows)} licences"
                f"{'' if client_id is None else f' of client {client_id}'}, "
                f"record_count said {expected}."
            )
        return list(rows.values())

    async def read_licences_of(self, client_ids: list[int]) -> dict[int, list[LicenceRecord]]:
        """Every licence of these clients (``read_licences``' guarantees), by the fewer calls:
        client by client, or the whole instance in pages when that takes fewer requests."""
        wanted = list(dict.fromkeys(client_ids))
        found: dict[int, list[LicenceRecord]] = {cid: [] for cid in wanted}
        if len(wanted) > 1:
            pages = -(-(await self.licence_count()) // PAGE_SIZE)
            if pages < len(wanted):
                for record in await self.read_licences():
                    if record.client_id in found:
                        found[record.client_id].append(record)
                return found
        for cid in wanted:
            found[cid] = await self.read_licences(client_id=cid)
        return found

    async def licence_count(self) -> int:
        """How many licences the instance holds (one small page: its ``record_count``)."""
        page = await self._licence_page(1, page_size=1)
        if page.record_count is None:
            raise HaloIncompleteRead("HaloPSA's licence list had no record_count.")
        return page.record_count

    async def highest_licence_id(self) -> int:
        """The newest licence id of the instance (0 when none): a mark taken before creating,
        so that only licences newer than it can be taken for ours after a lost answer."""
        page = await self._licence_page(1, page_size=1, newest_first=True)
        return page.licences[0].id if page.licences else 0

    async def get_licence(self, licence_id: int) -> LicenceRecord:
        """One licence by id (:class:`HaloNotFound` when HaloPSA no longer has it)."""
        return LicenceRecord.from_json(await self._get_json(f"/SoftwareLicence/{licence_id}"))

    async def post_licences(self, writes: list[LicenceWrite]) -> list[int]:
        """One POST array; the saved ids in input order.

        An array that creates anything is sent once: a lost answer raises
        :class:`HaloOutcomeUnknown`, and a 400 raises :class:`HaloRecordRejected` without
        bisecting, because HaloPSA may have stored the records before the rejected one.
        """
        creates = any(w.id is None for w in writes)
        response = await self._send(
            "POST",
            self._api + "/SoftwareLicence",
            replay_safe=not creates,
            json=[w.to_json() for w in writes],
        )
        _raise_for_status(response)
        return _saved_ids(response, len(writes))

    async def write_licences(self, writes: list[LicenceWrite]) -> list[WriteOutcome]:
        """Create/update in POST arrays; outcomes in input order, rejected records isolated."""
        outcomes: list[WriteOutcome] = []
        for start in range(0, len(writes), self.batch_size):
            chunk = writes[start : start + self.batch_size]
            outcomes.extend(await self._write_chunk(chunk, start))
        return outcomes

    async def _write_chunk(self, chunk: list[LicenceWrite], offset: int) -> list[WriteOutcome]:
        response = await self._send(
            "POST",
            self._api + "/SoftwareLicence",
            replay_safe=all(w.id is not None for w in chunk),
            json=[w.to_json() for w in chunk],
        )
        if response.status_code == 400:
            rejection = HaloRecordRejected(
                error_message(response.text) or "HaloPSA rejected the record.",
                status=400,
                body=response.text,
            )
            if len(chunk) == 1:
                return [WriteOutcome(offset, None, rejection)]
            # Bisect: one bad record must not fail the ninety-nine good ones.
            middle = len(chunk) // 2
            return await self._write_chunk(chunk[:middle], offset) + await self._write_chunk(
                chunk[middle:], offset + middle
            )
        _raise_for_status(response)
        ids = _saved_ids(response, len(chunk))
        return [WriteOutcome(offset + i, licence_id) for i, licence_id in enumerate(ids)]

    # --- paging ---------------------------------------------------------------------------

    async def _pages(
        self, path: str, envelope: str, params: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        page_no = 1
        received = 0
        previous_first: Any = object()
        while True:
            body = await self._get_json(
                path, {**params, "pageinate": "true", "page_size": PAGE_SIZE, "page_no": page_no}
            )
            rows = body.get(envelope) or [] if isinstance(body, dict) else []
            total = int(body.get("record_count") or 0) if isinstance(body, dict) else 0
            if not rows:
                return
            first = rows[0].get("id")
            if first == previous_first:
                logger.warning("HaloPSA %s paging repeated page %d; stopping", path, page_no)
                return
            previous_first = first
            for row in rows:
                yield row
            received += len(rows)
            if received >= total or len(rows) < PAGE_SIZE:
                return
            page_no += 1


def _scopes(value: Any) -> frozenset[str] | None:
    """A token's ``scope``: space- or comma-separated text, or a list (None when absent)."""
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list):
        items = [str(v) for v in value]
    else:
        return None
    return frozenset(i.strip().lower() for i in items if i.strip()) or None


def _jwt_scopes(token: str) -> frozenset[str] | None:
    """The ``scope`` claim of a JWT access token, read without verifying it (it only tells
    what HaloPSA granted; HaloPSA itself checks the token on every request)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return _scopes(claims.get("scope")) if isinstance(claims, dict) else None


def _saved_ids(response: httpx.Response, sent: int) -> list[int]:
    try:
        body = response.json()
        saved = body if isinstance(body, list) else [body]
        ids = [int(item["id"]) for item in saved]
    except (ValueError, KeyError, TypeError) as exc:
        raise HaloRequestError(
            "HaloPSA's answer to a licence write had no ids.", status=response.status_code
        ) from exc
    if len(ids) != sent:
        raise HaloRequestError(f"HaloPSA saved {len(ids)} licences for {sent} sent.", status=200)
    return ids


def _transport_cause(exc: BaseException) -> str:
    """A failed request in a few words for logs and seller messages."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return "no connection in time"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time (timeout)"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "connection lost (reset)"
    return f"connection failed ({type(exc).__name__})"


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    message = error_message(response.text) or f"HTTP {status}"
    if status == 401:
        raise HaloAuthError("HaloPSA no longer accepts the credentials: " + message, status=401)
    if status == 403:
        raise HaloPermissionError("HaloPSA denied access: " + message, status=403)
    if status == 404:
        raise HaloNotFound(message, status=404, body=response.text)
    if status == 400:
        raise HaloRecordRejected(message, status=400, body=response.text)
    raise HaloRequestError(message, status=status, body=response.text)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _is_tls(exc: BaseException) -> bool:
    import ssl

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in type(seen).__name__:
            return True
        if "CERTIFICATE" in str(seen).upper():
            return True
        seen = seen.__cause__ or seen.__context__
    return False
