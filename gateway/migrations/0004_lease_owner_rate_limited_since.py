from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_issues_webhooks')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Seller',
            name='lease_owner',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='rate_limited_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
