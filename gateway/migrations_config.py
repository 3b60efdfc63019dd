"""Entry point for Tortoise's own ``tortoise`` CLI (makemigrations, history, sqlmigrate).

    tortoise -c gateway.migrations_config.TORTOISE_ORM makemigrations

Applying migrations is ``halo-gateway migrate`` (same settings, same code path).
"""

from gateway.db import tortoise_config
from gateway.settings import Settings

TORTOISE_ORM = tortoise_config(Settings())
