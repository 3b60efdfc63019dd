"""Domain errors: each has its stable code, a message a person can read, and the data a
script needs (``retryAfterSeconds``) — what a client finds in ``extensions``."""

from __future__ import annotations

import pytest

from gateway.errors import (
    BadUserInput,
    DomainError,
    NotFound,
    SyncCooldown,
    SyncInProgress,
)


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(1, 1), (59, 1), (60, 1), (61, 2), (3000, 50), (3600, 60)]
)
def test_a_cooldown_says_the_minutes_left_rounded_up(seconds: int, minutes: int) -> None:
    error = SyncCooldown(seconds)
    assert error.message == f"You can trigger the next sync in {minutes} minutes"
    assert error.extensions == {"code": "SYNC_COOLDOWN", "retryAfterSeconds": seconds}


def test_an_error_without_a_message_says_its_default() -> None:
    assert (SyncInProgress().code, SyncInProgress().message) == (
        "SYNC_IN_PROGRESS",
        "Sync in progress",
    )
    assert NotFound().message == "Not found."


def test_the_field_of_bad_input_travels_with_the_error() -> None:
    error = BadUserInput("pageSize must be one of 10, 20, 50, 100.", field="pageSize")
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "pageSize"}
    assert str(error) == error.message


def test_every_error_has_its_own_code() -> None:
    def every(cls: type[DomainError]) -> list[type[DomainError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in every(sub))]

    codes = [cls.code for cls in every(DomainError)[1:]]
    assert len(codes) == len(set(codes)) and all(code.isupper() for code in codes)
