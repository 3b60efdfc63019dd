"""The gateway serves the seller's pages and GraphiQL from the package, under a strict CSP."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import httpx
import pytest

from gateway.settings import Environment
from tests.conftest import make_settings, running_gateway


def _gateway(tmp_path: Path, **overrides):
    settings = make_settings(f"sqlite://{tmp_path / 'gateway.sqlite3'}", tmp_path, **overrides)
    return running_gateway(settings)


def _csp(response: httpx.Response) -> dict[str, str]:
    directives = [d.strip() for d in response.headers["content-security-policy"].split(";")]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in directives}


def _shell_origins(html: str) -> list[str]:
    content = re.search(r'<meta name="halo-shell-origins" content="([^"]*)"', html).group(1)
    return json.loads(unescape(content))


@pytest.mark.parametrize(
    "path", ["/", "/connection", "/configuration", "/mapping", "/logs", "/drift"]
)
def test_every_page_of_the_app_is_served_with_a_policy_allowing_only_this_origin(
    tmp_path, path
) -> None:
    with _gateway(tmp_path) as gateway:
        page = httpx.get(gateway.base_url + path)
        assert page.status_code == 200
        assert "<title>HaloPSA integration</title>" in page.text
        csp = _csp(page)
        assert csp["script-src"] == "'self'"
        assert csp["connect-src"] == "'self'"
        assert csp["frame-ancestors"] == "'none'"
        assert page.headers["x-frame-options"] == "DENY"  # for browsers without CSP too
        assert _shell_origins(page.text) == []
        script = re.search(r'src="(/assets/[^"]+\.js)"', page.text).group(1)
        asset = httpx.get(gateway.base_url + script)
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]


def test_the_platform_shell_listed_may_frame_the_app_and_hand_it_tokens(tmp_path) -> None:
    shell = "https://platform.example.com"
    with _gateway(tmp_path, web_frame_ancestors=[shell]) as gateway:
        page = httpx.get(gateway.base_url + "/mapping")
    assert _csp(page)["frame-ancestors"] == shell
    # No X-Frame-Options: DENY would contradict the CSP (it cannot name the shell)
    assert "x-frame-options" not in page.headers
    assert _shell_origins(page.text) == [shell]


def test_production_serves_no_pages_unless_asked(tmp_path) -> None:
    with _gateway(tmp_path / "off", environment=Environment.PRODUCTION) as gateway:
        assert httpx.get(gateway.base_url + "/").status_code == 404
        assert (
            httpx.get(gateway.base_url + "/graphql", headers={"accept": "text/html"}).status_code
            == 404
        )
    with _gateway(tmp_path / "on", environment=Environment.PRODUCTION, web_app=True) as gateway:
        assert httpx.get(gateway.base_url + "/mapping").status_code == 200


def test_graphiql_is_served_from_local_files_only(tmp_path) -> None:
    with _gateway(tmp_path) as gateway:
        page = httpx.get(gateway.base_url + "/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "GraphiQL" in page.text
        assert "unpkg" not in page.text and "https://" not in page.text
        assert _csp(page)["script-src"] == "'self'"
        for source in re.findall(r'(?:src|href)="(/graphiql/[^"]+)"', page.text):
            assert httpx.get(gateway.base_url + source).status_code == 200, source
