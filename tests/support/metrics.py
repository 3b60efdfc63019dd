"""Reading the gateway's Prometheus exposition (``/metrics``) in tests."""

from __future__ import annotations

import re


def gauge(text: str, name: str) -> float:
    """The value of the unlabelled sample ``name`` in an exposition (0 when absent)."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0
