"""Settings come from the environment; production refuses development secrets."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from gateway.settings import DEV_JWT_SECRET, Settings


def test_defaults_are_the_embedded_mode_with_a_sqlite_file(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.embedded
    assert settings.database_url_resolved == "sqlite://data/halo-gateway.sqlite3"


def test_settings_are_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/halo")
    monkeypatch.setenv("HALO_RATE_LIMIT_REQUESTS", "120")
    monkeypatch.setenv("CORS_ORIGINS", '["https://app.example.com"]')
    settings = Settings()
    assert not settings.embedded
    assert settings.database_url_resolved == "postgres://u@db:5432/halo"
    assert settings.halo_rate_limit_requests == 120
    assert settings.cors_origins == ["https://app.example.com"]


def test_production_refuses_to_start_with_the_development_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", secrets_key=Fernet.generate_key().decode())


def test_production_refuses_a_short_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(
            environment="production",
            jwt_secret="short",
            secrets_key=Fernet.generate_key().decode(),
        )


def test_production_refuses_to_start_without_an_encryption_key() -> None:
    with pytest.raises(ValidationError, match="SECRETS_KEY"):
        Settings(environment="production", jwt_secret="x" * 40)


def test_production_starts_with_real_secrets_and_never_shows_them() -> None:
    key = Fernet.generate_key().decode()
    settings = Settings(environment="production", jwt_secret="s" * 40, secrets_key=key)
    assert key not in repr(settings)
    assert "s" * 40 not in repr(settings)
    assert not settings.loopback_http_allowed


def test_development_allows_the_builtin_secret_for_the_demo() -> None:
    assert Settings().jwt_secret.get_secret_value() == DEV_JWT_SECRET


def test_graphiql_and_introspection_are_on_by_default_and_off_by_default_in_production() -> None:
    development = Settings()
    assert development.graphiql_enabled and development.introspection_enabled
    production = Settings(
        environment="production", jwt_secret="s" * 40, secrets_key=Fernet.generate_key().decode()
    )
    assert not production.graphiql_enabled and not production.introspection_enabled


def test_graphiql_and_introspection_follow_explicit_settings_in_any_environment(
    monkeypatch,
) -> None:
    monkeypatch.setenv("GRAPHIQL", "true")
    monkeypatch.setenv("INTROSPECTION", "true")
    production = Settings(
        environment="production", jwt_secret="s" * 40, secrets_key=Fernet.generate_key().decode()
    )
    assert production.graphiql_enabled and production.introspection_enabled
    monkeypatch.setenv("GRAPHIQL", "false")
    monkeypatch.setenv("INTROSPECTION", "false")
    development = Settings()
    assert not development.graphiql_enabled and not development.introspection_enabled


def test_production_refuses_a_short_secret_anywhere_in_the_jwt_key_list() -> None:
    key = Fernet.generate_key().decode()
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", jwt_secret="s" * 40 + ",short", secrets_key=key)
    settings = Settings(
        environment="production", jwt_secret="s" * 40 + ", " + "t" * 40, secrets_key=key
    )
    assert settings.jwt_secrets == ["s" * 40, "t" * 40]
