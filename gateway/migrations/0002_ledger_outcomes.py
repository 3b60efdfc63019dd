from tortoise import migrations
from tortoise.migrations import operations as ops
from gateway.models import LedgerState, RunOutcome
from tortoise import fields
from tortoise.indexes import Index
from gateway.migrations._keep_indexes import AlterFieldKeepingIndexes

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        AlterFieldKeepingIndexes(
            model_name='SyncedSubscription',
            name='state',
            field=fields.CharEnumField(default=LedgerState.PENDING, description='PENDING: PENDING\nWRITTEN: WRITTEN\nNOT_SENT: NOT_SENT', enum_type=LedgerState, max_length=16),
        ),
        ops.AddField(
            model_name='SyncedSubscription',
            name='intent_mark',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='SyncedSubscription',
            name='run_outcome',
            field=fields.CharEnumField(null=True, description='CREATED: CREATED\nUPDATED: UPDATED\nUNCHANGED: UNCHANGED\nSKIPPED: SKIPPED\nFAILED: FAILED', enum_type=RunOutcome, max_length=16),
        ),
        ops.AddIndex(
            model_name='SyncedSubscription',
            index=Index(fields=['last_run_id', 'run_outcome']),
        ),
    ]
