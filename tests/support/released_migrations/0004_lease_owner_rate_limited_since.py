"""Its operations as released: the module in gateway/migrations."""

import importlib

Migration = importlib.import_module("gateway.migrations.0004_lease_owner_rate_limited_since").Migration
