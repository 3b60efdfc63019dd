"""Encryption of secrets at rest (the HaloPSA client secret), with key rotation.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) through ``MultiFernet``: the first key
of ``SECRETS_KEY`` encrypts, every key decrypts, so a key is rotated by putting the new one
first, running ``halo-gateway rotate-secrets`` and then dropping the old one.

Outside production, a missing key is generated once into ``data_dir/dev-secrets.key`` so the
demo works out of the box; production refuses to start without ``SECRETS_KEY`` (settings).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gateway.settings import Settings

DEV_KEY_FILE = "dev-secrets.key"


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a stored secret with the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()


def secret_box_from_settings(settings: Settings) -> SecretBox:
    if settings.secrets_key is not None:
        raw = settings.secrets_key.get_secret_value()
        return SecretBox([k.strip().encode() for k in raw.split(",") if k.strip()])
    return SecretBox([_development_key(settings.data_dir)])


def _development_key(data_dir: Path) -> bytes:
    path = data_dir / DEV_KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
