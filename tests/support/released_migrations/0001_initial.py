"""Its operations as released: the module in gateway/migrations."""

import importlib

Migration = importlib.import_module("gateway.migrations.0001_initial").Migration
