"""``viewer``: who the token says the caller is, roles in the platform's spelling normalised."""

from __future__ import annotations

from tests.support import tokens

VIEWER = "{ viewer { subject sellerId roles } }"


async def test_the_viewer_is_the_tokens_subject_seller_and_roles(gateway) -> None:
    token = tokens.token(sub="bob@example.com", roles=["Seller Admin", "seller-agent-admin"])
    viewer = (await gateway.gql(VIEWER, token=token))["data"]["viewer"]
    assert viewer == {
        "subject": "bob@example.com",
        "sellerId": "seller-a",
        "roles": ["SELLER_ADMIN", "SELLER_AGENT_ADMIN"],
    }
