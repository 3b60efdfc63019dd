"""The migrations as released before they kept SQLite's indexes (tests/test_migrations.py).

0002_ledger_outcomes, 0007_claims_approval and 0009_drift are verbatim copies of their first
releases, whose ``ops.AlterField`` left rebuilt SQLite tables without their indexes; the
others are the ones in gateway/migrations. A database migrated with these and one migrated
with gateway/migrations must end with the same schema: a database in the field was migrated
with these.
"""
