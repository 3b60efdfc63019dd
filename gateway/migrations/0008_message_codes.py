from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_claims_approval')]

    initial = False

    operations = [
        ops.AddField(
            model_name='LogEntry',
            name='code',
            field=fields.CharField(null=True, max_length=48),
        ),
        ops.AddField(
            model_name='LogEntry',
            name='params',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='message_code',
            field=fields.CharField(null=True, max_length=48),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='message_params',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
