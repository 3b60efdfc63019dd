from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from gateway.models import DeliveryStatus, IssueKind, IssueSeverity, IssueState
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_ledger_outcomes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IntegrationIssue',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seller', fields.ForeignKeyField('models.Seller', source_field='seller_id', db_constraint=True, to_field='id', related_name='issues', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='CONNECTION_REJECTED: CONNECTION_REJECTED\nHALO_UNREACHABLE: HALO_UNREACHABLE\nRATE_LIMIT_EXHAUSTED: RATE_LIMIT_EXHAUSTED\nRECORDS_REJECTED: RECORDS_REJECTED\nSYNC_FAILED: SYNC_FAILED\nSYNC_OVERDUE: SYNC_OVERDUE', enum_type=IssueKind, max_length=32)),
                ('subject', fields.CharField(default='', max_length=64)),
                ('severity', fields.CharEnumField(description='CRITICAL: CRITICAL\nERROR: ERROR\nWARNING: WARNING', enum_type=IssueSeverity, max_length=16)),
                ('state', fields.CharEnumField(default=IssueState.ONGOING, description='ONGOING: ONGOING\nRESOLVED: RESOLVED', enum_type=IssueState, max_length=16)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('sequence', fields.IntField(default=1)),
                ('occurrences', fields.IntField(default=1)),
                ('last_ref', fields.CharField(null=True, max_length=128)),
                ('first_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('muted_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_run_id', fields.IntField(null=True)),
                ('last_run_id', fields.IntField(null=True)),
                ('detail', fields.TextField(null=True, unique=False)),
                ('data', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'integration_issue', 'app': 'models', 'indexes': [Index(fields=['seller_id', 'state', 'last_seen_at']), Index(fields=['state', 'kind'])], 'pk_attr': 'id', 'table_description': 'One deduplicated problem of a seller, ONGOING until its cause goes away.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seller', fields.ForeignKeyField('models.Seller', source_field='seller_id', db_constraint=True, to_field='id', related_name='webhook_endpoints', on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=2048)),
                ('description', fields.CharField(default='', max_length=255)),
                ('events', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('secret_encrypted', fields.TextField(unique=False)),
                ('previous_secret_encrypted', fields.TextField(null=True, unique=False)),
                ('previous_secret_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('secret_rotated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('removed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_endpoint', 'app': 'models', 'indexes': [Index(fields=['seller_id', 'removed_at'])], 'pk_attr': 'id', 'table_description': "A seller's receiver of signed events. Removed endpoints stay for the delivery log."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seller', fields.ForeignKeyField('models.Seller', source_field='seller_id', db_constraint=True, to_field='id', related_name='webhook_deliveries', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField('models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('message_id', fields.CharField(max_length=64)),
                ('event_type', fields.CharField(max_length=32)),
                ('payload', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: PENDING\nDELIVERED: DELIVERED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=255)),
                ('latency_ms', fields.IntField(null=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'models', 'unique_together': (('endpoint', 'message_id'),), 'indexes': [Index(fields=['seller_id', 'created_at']), Index(fields=['endpoint_id', 'created_at']), Index(fields=['status', 'next_attempt_at']), Index(fields=['created_at'])], 'pk_attr': 'id', 'table_description': 'One event for one endpoint: the body signed and sent until a 2xx, or failed after 24 h.'},
            bases=['Model'],
        ),
    ]
