"""A queued run whose message the broker lost is sent again (services/sync/requeue.py).

``sync_run`` gets ``requeues`` and ``requeued_at`` (how many re-sends, the last one's time:
one per interval whichever scheduler gets there first) and ``started_by_resend`` (which
sending of the message started the run's current execution, so that the others drop
themselves). Columns added in place: no table is rebuilt, no index lost.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_search_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='SyncRun',
            name='requeued_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='requeues',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='started_by_resend',
            field=fields.IntField(default=0),
        ),
    ]
