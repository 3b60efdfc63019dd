"""The core's enums exposed to GraphQL with a description per value, declared once.

``strawberry.enum(CoreEnum, …)`` exposes an enum of ``gateway`` as it is, so a resolver returns
the core's members and there is one list of values (README, *Enums once, in the core*). It
takes a description for the enum only: a value's description comes from
``strawberry.enum_value`` on the member, which the core cannot use (it never imports
strawberry). A schema-side copy of the enum just for those descriptions was a second list to
keep in step. :func:`described` exposes the core's enum and sets its values' descriptions
from here; a name that is not a member fails at import, so a renamed value cannot silently
lose its words.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry
from strawberry.types.enum import has_enum_definition

E = TypeVar("E", bound=type[Enum])


def described(
    cls: E,
    *,
    name: str | None = None,
    description: str | None = None,
    values: Mapping[str, str],
) -> E:
    """``strawberry.enum(cls, name=…, description=…)`` with ``values``: member name → its
    GraphQL description (members left out have none)."""
    unknown = sorted(set(values) - set(cls.__members__))
    if unknown:
        raise ValueError(f"{cls.__name__} has no member {', '.join(unknown)}")
    exposed = strawberry.enum(cls, name=name, description=description)
    definition = exposed.__strawberry_definition__ if has_enum_definition(exposed) else None
    assert definition is not None  # strawberry.enum just set it
    for value in definition.values:
        value.description = values.get(cls(value.value).name)
    return exposed
