"""A real webhook receiver for tests: a Starlette app under uvicorn that checks signatures.

It verifies each request with the Standard Webhooks reference library (``standardwebhooks``)
against the secrets the test gives it and answers 401 when none matches, like a receiver in
production would. What it answers otherwise is scripted: a list of statuses to give first,
then ``status``; ``delay`` seconds before answering; ``hang`` until released.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread

# How long a helper waits for something the receiver should see (a safety net, not a
# measurement: the assertions are on what arrived, never on how fast).
WAIT_SECONDS = 60.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    base_url: str = ""
    secrets: list[str] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    body: str = "ok"
    redirect_to: str | None = None
    requests: list[Received] = field(default_factory=list)
    hanging: int = 0
    max_in_flight: int = 0
    in_flight: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    hang: bool = False
    # False: bodies are verified, then dropped (a load test measures the gateway, not us).
    keep_bodies: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False

    async def wait_until(
        self, condition: Callable[[Receiver], bool], timeout: float = WAIT_SECONDS
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"receiver never saw it; got {len(self.requests)} requests")
            await asyncio.sleep(0.05)

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.hang:
                with self.lock:
                    self.hanging += 1
                await asyncio.to_thread(self.released.wait)
            if self.delay:
                await asyncio.sleep(self.delay)
            verified = self.verify(body, headers)
            with self.lock:
                status = self.script.pop(0) if self.script else self.status
            if not verified:
                status = 401
            elif self.redirect_to is not None:
                status = 307
            with self.lock:
                kept = body if self.keep_bodies else b""
                self.requests.append(Received(request.url.path, headers, kept, verified, status))
            if status == 307:
                return Response(status_code=307, headers={"location": self.redirect_to or "/"})
            return PlainTextResponse(self.body, status_code=status)
        finally:
            with self.lock:
                self.in_flight -= 1


@contextmanager
def running_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)
    app = Starlette(
        routes=[Route("/{path:path}", receiver._handle, methods=["POST", "GET"])],
    )
    with serve_in_thread(app) as base_url:
        receiver.base_url = base_url
        try:
            yield receiver
        finally:
            receiver.released.set()  # hanging requests end before the server stops
