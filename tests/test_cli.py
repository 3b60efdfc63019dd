"""The ``halo-gateway`` command's own jobs: settings from the environment, tokens for scripts,
the SDL file, migrations. (What import, export and preview write is tested with their
services: tests/services/test_bulk_import.py, test_exports.py, sync/test_preview_csv.py.)"""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from gateway.auth import authenticate
from gateway.cli import main
from schema import export_sdl
from tests.conftest import make_settings
from tests.support.cli import cli_env, run_cli


def _invoke(*args: str, **env: str | None):
    return CliRunner().invoke(main, list(args), env=env)


def test_a_minted_token_is_accepted_for_its_seller_and_roles(tmp_path) -> None:
    settings = make_settings(f"sqlite://{tmp_path / 'cli.sqlite3'}", tmp_path)
    result = _invoke(
        "token",
        "--seller",
        "seller-s",
        "--role",
        "SELLER_AGENT_ADMIN",
        "--subject",
        "ci-script",
        JWT_SECRET=settings.jwt_secret.get_secret_value(),
    )
    assert result.exit_code == 0, result.output
    principal = authenticate(settings, f"Bearer {result.stdout.strip()}")
    assert (principal.seller_id, principal.subject) == ("seller-s", "ci-script")
    assert list(principal.roles) == ["SELLER_AGENT_ADMIN"]


def test_export_schema_writes_the_sdl_the_gateway_serves(tmp_path) -> None:
    target = tmp_path / "schema.graphql"
    result = _invoke("export-schema", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == export_sdl()


@pytest.mark.empty_database
async def test_migrate_applies_what_is_pending_once(database_url, tmp_path) -> None:
    settings = make_settings(database_url, tmp_path)
    first = await run_cli(settings, "migrate")
    again = await run_cli(settings, "migrate")
    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert first.stdout.startswith("applied: models.0001_initial, ")
    assert again.stdout.strip() == "database is up to date"


def test_settings_that_cannot_start_are_refused_in_words_not_with_a_traceback(
    tmp_path,
) -> None:
    settings = make_settings(f"sqlite://{tmp_path / 'cli.sqlite3'}", tmp_path)
    env = {**cli_env(settings), "ENVIRONMENT": "production", "SECRETS_KEY": None}
    result = asyncio.run(asyncio.to_thread(_invoke, "migrate", **env))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "JWT_SECRET" in result.stderr
    assert "Traceback" not in result.output
