"""Numeric ids from GraphQL ``ID`` arguments: parsed and range-checked before any query.

Database integer columns are 32-bit; an id outside that range cannot exist, and sending it to
PostgreSQL would be an error rather than "not found".
"""

from __future__ import annotations

from gateway.errors import DomainError

MAX_DB_INT = 2**31 - 1


def parse_int_id(value: object, error: DomainError) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise error from None
    if not 1 <= number <= MAX_DB_INT:
        raise error
    return number
