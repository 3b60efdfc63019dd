"""The HaloPSA simulator's HTTP face: the real paths, envelopes, field names and error shapes.

Paths are matched case-insensitively, like HaloPSA's. Faults (latency, rolling-window rate
limit, 500/503 answers, dropped connections, token expiry, a licence always rejected,
revoked credentials) are applied per instance on every API request. The ``/_sim/`` admin
routes set the scene without counting as requests (``/_sim/licences``: licences entered by
hand in HaloPSA).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from gateway.halopsa.simulator.state import DEFAULT_INSTANCE, Instance, SimulatorState

RATE_LIMIT_TEXT = "Rate Limit Reached - 300 Requests per rolling 5 minute window"
MAX_PAGE_SIZE = 100
HOLD_POLL_SECONDS = 0.01


class _Drop(Exception):
    """Close the connection mid-response, as a flaky proxy would."""


class SimulatorApp:
    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self.dispatch(request)
        except _Drop:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"1000"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
            raise RuntimeError("simulated dropped connection") from None
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        parts = [p for p in request.url.path.split("/") if p]
        root = request.scope.get("root_path", "")
        if root:
            root_parts = [p for p in root.split("/") if p]
            if parts[: len(root_parts)] == root_parts:
                parts = parts[len(root_parts) :]
        lowered = [p.lower() for p in parts]
        if lowered[:1] == ["_sim"]:
            return await self.admin(request, lowered[1:])
        name = DEFAULT_INSTANCE
        if lowered and lowered[0] not in ("auth", "api") and lowered[0] in self.state.instances:
            name, lowered, parts = lowered[0], lowered[1:], parts[1:]
        instance = self.state.instances.get(name)
        if instance is None:
            return _not_found()
        if lowered == ["auth", "token"] and request.method == "POST":
            return await self.token(request, instance)
        if lowered[:1] == ["api"]:
            return await self.api(request, instance, lowered[1:])
        return _not_found()

    # --- OAuth --------------------------------------------------------------------------

    async def token(self, request: Request, instance: Instance) -> Response:
        # HaloPSA's token endpoint takes application/x-www-form-urlencoded.
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        tenant = request.query_params.get("tenant") or form.get("tenant")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if instance.tenant and (tenant or "").lower() != instance.tenant.lower():
            return JSONResponse(
                {"error": "invalid_request", "error_description": "Invalid tenant"}, status_code=400
            )
        if (
            form.get("client_id") != instance.client_id
            or form.get("client_secret") != instance.client_secret
            or instance.faults.revoked
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Invalid client credentials"},
                status_code=401,
            )
        instance.count("tokens")
        return JSONResponse(
            {
                "access_token": instance.issue_token(),
                "token_type": "Bearer",
                "expires_in": instance.faults.token_ttl_seconds,
                # What the application was granted (HaloPSA's Permissions tab).
                "scope": " ".join(sorted(instance.permissions)),
            }
        )

    # --- API ----------------------------------------------------------------------------

    async def api(self, request: Request, instance: Instance, path: list[str]) -> Response:
        faults = instance.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        # Set and cleared from the test's thread, where an asyncio.Event cannot be: polled.
        while faults.hold:  # noqa: ASYNC110
            await asyncio.sleep(HOLD_POLL_SECONDS)
        if path == ["authinfo"]:
            return JSONResponse({"auth_url": "/auth", "tenant_id": instance.tenant or ""})
        instance.count("requests")
        instance.count(f"requests_{request.method.lower()}")  # e.g. requests_post
        if faults.rate_limit is not None:
            limit, window = faults.rate_limit
            now = time.monotonic()
            while instance.requests and instance.requests[0] <= now - window:
                instance.requests.popleft()
            _other_integration(instance, now, limit)
            if len(instance.requests) >= limit:
                instance.count("rate_limited")
                return Response(RATE_LIMIT_TEXT, status_code=429, media_type="text/plain")
            instance.requests.append(now)
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not instance.token_valid(auth[7:].strip()):
            instance.count("unauthorized")
            return Response(status_code=401)
        if faults.stall_next:
            instance.count("stalled")
            await asyncio.sleep(faults.stall_next.pop(0))
        if faults.fail_next:
            status = faults.fail_next.pop(0)
            instance.count(f"injected_{status}")
            return _error(status)
        if faults.drop_rate and instance.roll() < faults.drop_rate:
            instance.count("dropped")
            raise _Drop()
        if faults.error_rate and instance.roll() < faults.error_rate:
            status = faults.error_statuses[int(instance.roll() * len(faults.error_statuses))]
            instance.count(f"injected_{status}")
            return _error(status)
        resource, rest = (path[0], path[1:]) if path else ("", [])
        needed = _permission(resource, request.method)
        if needed is not None and not instance.allows(needed):
            instance.count("forbidden")
            return _error(403)
        if resource == "client":
            return self.clients(request, instance, rest)
        if resource == "softwarelicence":
            return await self.licences(request, instance, rest)
        return _not_found()

    def clients(self, request: Request, instance: Instance, rest: list[str]) -> Response:
        if request.method != "GET":
            return Response(status_code=405)
        if rest:
            client = instance.clients.get(_int(rest[0]))
            return JSONResponse(client) if client else _not_found()
        q = request.query_params
        include_active = _bool(q.get("includeactive"), True)
        include_inactive = _bool(q.get("includeinactive"), False)
        rows = [
            c
            for c in instance.clients.values()
            if (include_inactive and c["inactive"]) or (include_active and not c["inactive"])
        ]
        return JSONResponse(_page(rows, q, "clients"))

    async def licences(self, request: Request, instance: Instance, rest: list[str]) -> Response:
        if request.method == "GET":
            if rest:
                licence = instance.licences.get(_int(rest[0]))
                return JSONResponse(licence) if licence else _not_found()
            q = request.query_params
            rows = list(instance.licences.values())
            if q.get("client_id"):
                rows = [r for r in rows if r["client_id"] == _int(q["client_id"])]
            if not _bool(q.get("includeinactive"), False):
                rows = [r for r in rows if r.get("is_active", True)]
            return JSONResponse(_page(rows, q, "licences"))
        if request.method == "DELETE" and rest:
            licence_id = _int(rest[0])
            if instance.licences.pop(licence_id, None) is None:
                return _not_found()
            return JSONResponse(licence_id)
        if request.method == "POST":
            return await self.save_licences(request, instance)
        return Response(status_code=405)

    async def save_licences(self, request: Request, instance: Instance) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"": ["The input was not valid."]}, status_code=400)
        items = body if isinstance(body, list) else [body]
        errors: dict[str, list[str]] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errors[f"[{i}]"] = ["The input was not valid."]
                continue
            if item.get("id") is not None and _int(item["id"]) not in instance.licences:
                errors[f"[{i}].id"] = [f"SoftwareLicence {item['id']} not found."]
            if item.get("id") is None and not item.get("name"):
                errors[f"[{i}].name"] = ["The name field is required."]
            if (
                item.get("client_id") is not None
                and _int(item["client_id"]) not in instance.clients
            ):
                errors[f"[{i}].client_id"] = ["The client does not exist."]
            if item.get("name") in instance.faults.reject_names:
                errors[f"[{i}].name"] = [f"Licence name '{item['name']}' is not allowed."]
        if errors:
            instance.count("rejected_batches")
            return JSONResponse(errors, status_code=400)
        fault = instance.next_write_fault()
        if fault is None:
            return _saved_answer(_store_licences(instance, items))
        instance.count(f"write_fault_{fault}")
        if fault == "partial":
            # HaloPSA validated record by record and stored the first ones before it failed.
            kept = len(items) // 2
            _store_licences(instance, items[:kept])
            return JSONResponse(
                {f"[{kept}].name": ["A database error occurred while saving this record."]},
                status_code=400,
            )
        if fault == "late":
            # The answer never comes in time; the records appear a little later.
            asyncio.get_running_loop().call_later(
                instance.faults.late_commit_seconds, _store_licences, instance, items
            )
            await _hang(request, instance.faults.late_answer_seconds)
            return _error(504)
        _store_licences(instance, items)
        if fault == "reset":
            raise _Drop()
        if fault == "timeout":
            await _hang(request, instance.faults.lost_answer_stall_seconds)
            return _saved_answer([])
        return _error(int(fault))

    # --- admin ----------------------------------------------------------------------------

    async def admin(self, request: Request, path: list[str]) -> Response:
        q = request.query_params
        name = q.get("instance", DEFAULT_INSTANCE)
        if path == ["state"] and request.method == "GET":
            instance = self.state.instances.get(name.lower())
            return JSONResponse(instance.snapshot() if instance else None)
        body = await request.body() if request.method == "POST" else b""
        payload = json.loads(body) if body.strip() else {}
        name = payload.pop("instance", name) if isinstance(payload, dict) else name
        if path == ["reset"]:
            self.state.reset()
            return JSONResponse({"ok": True})
        if path == ["instances"]:
            self.state.add_instance(name, **payload)
            return JSONResponse({"ok": True})
        if path == ["faults"]:
            self.state.instance(name).set_faults(**payload)
            return JSONResponse({"ok": True})
        if path == ["permissions"]:
            self.state.instance(name).set_permissions(payload.get("permissions", []))
            return JSONResponse({"ok": True})

        if path == ["licences"]:
            # Licences a person typed into HaloPSA: {"licences": [{"client_id": 3, "name": …}]}
            instance = self.state.instance(name)
            made = [
                instance.add_licence(int(item.pop("client_id")), str(item.pop("name")), **item)
                for item in payload.get("licences", [])
            ]
            return JSONResponse({"created": [licence["id"] for licence in made]})
        if path == ["seed"]:
            created = [
                self.state.instance(name).add_client(c["name"], inactive=c.get("inactive", False))
                for c in payload.get("clients", [])
            ]
            return JSONResponse({"created": len(created)})
        return _not_found()


def _store_licences(instance: Instance, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    saved = []
    for item in items:
        if item.get("id") is not None:
            licence = instance.licences[_int(item["id"])]
            licence.update({k: v for k, v in item.items() if k != "id"})
            instance.count("licence_updates")
        else:
            licence = {"id": instance.next_licence_id, "is_active": True, **item}
            instance.licences[licence["id"]] = licence
            instance.next_licence_id += 1
            instance.count("licence_creates")
        saved.append(licence)
    instance.count("licence_posts")
    return saved


def _permission(resource: str, method: str) -> str | None:
    """The API application permission a request needs (HaloPSA's own names)."""
    if resource == "client":
        return "read:customers" if method == "GET" else "edit:customers"
    if resource == "softwarelicence":
        return "read:softwarelicensing" if method == "GET" else "edit:softwarelicensing"
    return None


def _saved_answer(saved: list[dict[str, Any]]) -> Response:
    # HaloPSA: one element in, the object out; several in, the array out.
    return JSONResponse(saved[0] if len(saved) == 1 else saved)


async def _hang(request: Request, seconds: float) -> None:
    """Hold the answer back until ``seconds`` pass or the client gives up waiting."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


def _page(rows: list[dict[str, Any]], q: Any, envelope: str) -> dict[str, Any]:
    # HaloPSA's list endpoints take ``order`` (a field) and ``orderdesc``; id ascending else.
    order = (q.get("order") or "id").lower()
    key = order if rows and order in rows[0] else "id"
    rows = sorted(rows, key=lambda r: (r.get(key) is None, r.get(key), r["id"]))
    if _bool(q.get("orderdesc"), False):
        rows.reverse()
    if not _bool(q.get("pageinate"), False):
        return {"record_count": len(rows), envelope: rows}
    size = min(MAX_PAGE_SIZE, max(1, _int(q.get("page_size") or 50)))
    page_no = max(1, _int(q.get("page_no") or 1))
    start = (page_no - 1) * size
    return {
        "page_no": page_no,
        "page_size": size,
        "record_count": len(rows),
        envelope: rows[start : start + size],
    }


def _error(status: int) -> Response:
    if status == 429:
        return Response(RATE_LIMIT_TEXT, status_code=429, media_type="text/plain")
    if status == 500:
        return JSONResponse(
            {"ClassName": "System.Exception", "Message": "An unexpected error occurred."},
            status_code=500,
        )
    if status == 401:
        return Response(status_code=401)
    if status == 403:
        return JSONResponse("You do not have permission to access this resource.", status_code=403)
    return Response("Service Unavailable", status_code=status, media_type="text/plain")


def _not_found() -> Response:
    return JSONResponse({"message": "Not Found"}, status_code=404)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.lower() == "true"


def create_simulator_app(state: SimulatorState | None = None) -> SimulatorApp:
    if state is None:
        state = SimulatorState()
        state.add_instance()
    return SimulatorApp(state)


def _other_integration(instance: Instance, now: float, limit: int) -> None:
    """Faults.busy_after_creates: another integration fills the window (see there)."""
    busy = instance.faults.busy_after_creates
    if busy is None or instance.counters.get("licence_creates", 0) < busy[0]:
        return
    if instance.busy_since is None:
        instance.busy_since = now
    if now < instance.busy_since + busy[1]:
        instance.requests.clear()
        instance.requests.extend([now] * limit)
