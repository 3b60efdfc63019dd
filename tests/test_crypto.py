"""Secrets at rest: encrypted with the first key, readable with any listed key, rotated by
putting a new key first; outside production a key is made once and kept for the next start."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from gateway.crypto import DEV_KEY_FILE, SecretBox, secret_box_from_settings
from tests.conftest import make_settings

OLD, NEW = Fernet.generate_key(), Fernet.generate_key()


def test_a_stored_secret_reads_back_and_does_not_show_in_what_is_stored() -> None:
    box = SecretBox([NEW])
    stored = box.encrypt("halo-secret-1234")
    assert "halo-secret-1234" not in stored
    assert box.decrypt(stored) == "halo-secret-1234"


def test_rotation_new_key_first_then_rotate_then_drop_the_old_key() -> None:
    stored = SecretBox([OLD]).encrypt("halo-secret-1234")
    both = SecretBox([NEW, OLD])
    assert both.decrypt(stored) == "halo-secret-1234"  # nothing breaks while both are listed
    rotated = both.rotate(stored)
    assert SecretBox([NEW]).decrypt(rotated) == "halo-secret-1234"  # the old key can go
    with pytest.raises(ValueError, match="cannot be decrypted with the configured keys"):
        SecretBox([NEW]).decrypt(stored)  # what was not rotated needs the old key


def test_the_key_list_is_read_from_secrets_key_comma_separated(tmp_path) -> None:
    stored = SecretBox([OLD]).encrypt("s")
    settings = make_settings(
        "sqlite://:memory:", tmp_path, secrets_key=SecretStr(f" {NEW.decode()} , {OLD.decode()} ")
    )
    box = secret_box_from_settings(settings)
    assert box.decrypt(stored) == "s"
    assert SecretBox([NEW]).decrypt(box.encrypt("t")) == "t"  # the first key encrypts


def test_outside_production_a_key_is_made_once_and_kept_private(tmp_path) -> None:
    settings = make_settings("sqlite://:memory:", tmp_path, secrets_key=None)
    stored = secret_box_from_settings(settings).encrypt("s")
    # The next start (another process) reads what the first one stored.
    assert secret_box_from_settings(settings).decrypt(stored) == "s"
    key_file = tmp_path / DEV_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_box_without_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SecretBox([])
