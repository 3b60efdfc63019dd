"""The Logs entries of mapping changes: the organisation by name, reference and public id."""

from __future__ import annotations

from gateway.messages import MessageCode
from gateway.services import mapping_texts
from gateway.services.mapping_texts import Side

ACME = Side("acme-7", "Acme Corp", "REF-7", 1006, "Acme Ltd")


def test_a_first_mapping_says_who_mapped_what_to_what() -> None:
    title, details = mapping_texts.mapped(ACME, "alice", None)
    assert title == "Organization mapped"
    assert details.text == (
        "Organization 'Acme Corp' (REF-7) mapped to HaloPSA 'Acme Ltd' (ID 1006) by alice."
    )
    assert details.code is MessageCode.ORGANIZATION_MAPPED
    assert details.params == {
        "organizationName": "Acme Corp",
        "organizationId": "acme-7",
        "reference": "REF-7",
        "psaOrganizationName": "Acme Ltd",
        "psaOrganizationId": 1006,
        "by": "alice",
    }


def test_a_remap_names_the_halopsa_organisation_it_replaced() -> None:
    title, details = mapping_texts.mapped(ACME, "alice", (1005, "Acme (old)"))
    assert title == "Organization remapped"
    assert "(previously HaloPSA 'Acme (old)' (ID 1005)) by alice." in details.text
    assert details.code is MessageCode.ORGANIZATION_REMAPPED
    assert details.params["previousPsaOrganizationId"] == 1005
    assert details.params["previousPsaOrganizationName"] == "Acme (old)"


def test_an_unmap_says_the_licences_in_halopsa_stay() -> None:
    details = mapping_texts.unmapped(ACME, "bob")
    assert details.text.endswith("by bob. Subscriptions already in HaloPSA stay unchanged.")
    assert details.code is MessageCode.ORGANIZATION_UNMAPPED
    assert details.params["organizationId"] == "acme-7"
