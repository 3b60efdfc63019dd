"""Guard for the graphql-core per-event memo leak fix (pitfalls.md #1)."""

from __future__ import annotations

from graphql import build_schema, parse
from graphql.execution.executor import Executor

from schema import graphql_core_patches


def test_every_subscription_event_gets_a_fresh_field_memo() -> None:
    graphql_core_patches.apply()
    schema = build_schema("type Query { a: String } type Subscription { greeting: String }")
    executor = Executor.build(schema, parse("subscription { greeting }"))
    assert hasattr(executor, "_relevant_sub_fields"), "graphql-core internals changed: recheck"
    first = executor.build_per_event_executor({"greeting": "hi"})
    second = executor.build_per_event_executor({"greeting": "ho"})
    assert first._relevant_sub_fields is not executor._relevant_sub_fields
    assert first._relevant_sub_fields is not second._relevant_sub_fields


def test_applying_the_patch_twice_wraps_once() -> None:
    graphql_core_patches.apply()
    patched = Executor.build_per_event_executor
    graphql_core_patches.apply()
    assert Executor.build_per_event_executor is patched
