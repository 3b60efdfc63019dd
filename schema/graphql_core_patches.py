"""A fix for graphql-core 3.3.2's per-subscription-event memory growth (pitfalls.md #1).

Each event of a subscription is executed by a shallow copy of the subscription's executor;
the copy shares the ``_relevant_sub_fields`` memo, which is keyed by object ids of per-event
lists and so grows by about 1 KB per event per socket until the client unsubscribes (and
its garbage-collection pauses reached 250 ms at 50 subscribers). Giving every per-event
executor a fresh memo keeps memory flat. ``tests/api/test_graphql_core_patches.py`` fails if
an upgrade changes the internals this relies on.
"""

from __future__ import annotations

from typing import Any

from graphql.execution.executor import Executor

_PATCHED_FLAG = "_halo_gateway_fresh_memo"


def apply() -> None:
    original = Executor.build_per_event_executor
    if getattr(original, _PATCHED_FLAG, False):
        return

    def build_per_event_executor(self: Executor, payload: Any) -> Executor:
        executor = original(self, payload)
        executor._relevant_sub_fields = {}
        return executor

    setattr(build_per_event_executor, _PATCHED_FLAG, True)
    # Assigning to a method is the patch itself (see the module docstring).
    Executor.build_per_event_executor = build_per_event_executor  # type: ignore[method-assign]
