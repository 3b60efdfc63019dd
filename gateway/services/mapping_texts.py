"""The Logs entries of mapping changes (map, remap, unmap): text, code and parameters.

Kept apart from ``organizations.py`` (the grid and its writes) so the words are defined once
and that module only says when an entry is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.messages import Message, MessageCode, ParamValue


@dataclass(frozen=True)
class Side:
    """What an entry says of the platform organisation and of a HaloPSA organisation."""

    organization_id: str  # the platform's public id (the grid's)
    organization_name: str
    reference: str
    psa_id: int
    psa_name: str


def _params(side: Side, by: str) -> dict[str, ParamValue]:
    return {
        "organizationName": side.organization_name,
        "organizationId": side.organization_id,
        "reference": side.reference,
        "psaOrganizationName": side.psa_name,
        "psaOrganizationId": side.psa_id,
        "by": by,
    }


def mapped(side: Side, by: str, previous: tuple[int, str] | None) -> tuple[str, Message]:
    """The title and details of a mapping made, or changed (``previous``: the HaloPSA
    organisation's id and name it was mapped to)."""
    verb = "remapped" if previous is not None else "mapped"
    before = f" (previously HaloPSA '{previous[1]}' (ID {previous[0]}))" if previous else ""
    params = _params(side, by)
    if previous is not None:
        params["previousPsaOrganizationName"] = previous[1]
        params["previousPsaOrganizationId"] = previous[0]
    return f"Organization {verb}", Message(
        MessageCode.ORGANIZATION_REMAPPED if previous else MessageCode.ORGANIZATION_MAPPED,
        f"Organization '{side.organization_name}' ({side.reference}) {verb} to HaloPSA "
        f"'{side.psa_name}' (ID {side.psa_id}){before} by {by}.",
        params,
    )


UNMAPPED_TITLE = "Organization unmapped"


def unmapped(side: Side, by: str) -> Message:
    return Message(
        MessageCode.ORGANIZATION_UNMAPPED,
        f"Organization '{side.organization_name}' ({side.reference}) unmapped from HaloPSA "
        f"'{side.psa_name}' (ID {side.psa_id}) by {by}. Subscriptions already in HaloPSA stay "
        "unchanged.",
        _params(side, by),
    )
