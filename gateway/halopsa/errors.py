"""Errors of the HaloPSA client, grouped by how a caller should react.

    HaloError                      anything HaloPSA-related (message, status, raw body)
    ├── HaloAuthError              fatal: token refused, or 401 after one refresh
    ├── HaloPermissionError        fatal: 403, the API agent lacks a permission
    ├── HaloNotFound               404 on a get by id
    ├── HaloRecordRejected         skippable: HaloPSA refused one record (400), with its message
    ├── HaloRequestError           fatal: any other 4xx
    ├── HaloOutcomeUnknown         reconcile: a write was sent and nothing says what HaloPSA did
    │                              (no answer in time, connection lost, 500/502/504): never sent
    │                              again blind; the caller reads back first
    └── HaloRetriableError         raised only after the bounded retries are spent
        ├── HaloRateLimited        429 kept coming for longer than the client's patience
        ├── HaloUnavailable        5xx, timeouts, refused or dropped connections kept coming
        └── HaloIncompleteRead     a listing changed between its pages: read again later

No ``httpx`` exception leaves the client: they become one of these, ``from`` the original.
"""

from __future__ import annotations

import json
from typing import Any


class HaloError(Exception):
    def __init__(self, message: str, *, status: int | None = None, body: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class HaloAuthError(HaloError):
    pass


class HaloPermissionError(HaloError):
    pass


class HaloNotFound(HaloError):
    pass


class HaloRecordRejected(HaloError):
    pass


class HaloRequestError(HaloError):
    pass


class HaloOutcomeUnknown(HaloError):
    """A write went out and no answer tells whether HaloPSA stored it.

    ``cause`` names what happened in a few words ("timeout", "connection lost", "HTTP 502").
    """

    def __init__(self, message: str, *, cause: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.cause = cause


class HaloRetriableError(HaloError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class HaloRateLimited(HaloRetriableError):
    pass


class HaloUnavailable(HaloRetriableError):
    pass


class HaloIncompleteRead(HaloRetriableError):
    pass


def error_message(body: str | bytes | None) -> str:
    """HaloPSA's words from whatever body shape it sent.

    Seen shapes: ASP.NET model-state ``{"[0].name": ["The name field is required."]}``,
    OAuth ``{"error", "error_description"}``, .NET exceptions ``{"ClassName", "Message"}``,
    ``{"message": …}``, a bare JSON string, or plain text.
    """
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    if isinstance(data, str):
        return data[:500]
    if isinstance(data, dict):
        for key in ("error_description", "Message", "message", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:500]
        parts = []
        for key, value in data.items():
            if isinstance(value, list):
                parts.append(f"{key}: " + "; ".join(str(v) for v in value))
            elif isinstance(value, str):
                parts.append(f"{key}: {value}")
        if parts:
            return " | ".join(parts)[:500]
    return text[:500]
