"""Process logging for operators (not the seller-visible log entries, see services/logs.py).

Plain text for a terminal, JSON lines (``LOG_FORMAT=json``) for production: level, event
(the message), logger, and the seller / run ids when the code passes them in ``extra``.
A redaction filter masks anything that looks like a bearer token or a client secret, as a
second line of defence: the code itself never logs them.
"""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from gateway.settings import Settings

_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1[REDACTED]"),
    (re.compile(r"(?i)(client_secret[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)(access_token[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"), r"\1[REDACTED]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "message": "event", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # httpx logs every request URL at INFO; our client reports what matters itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # One line per job added at start-up says nothing an operator needs.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
