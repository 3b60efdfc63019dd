from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from gateway.models import DriftKind, IssueKind, SyncKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from gateway.migrations._keep_indexes import AlterFieldKeepingIndexes

class Migration(migrations.Migration):
    dependencies = [('models', '0008_message_codes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DriftFinding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seller', fields.ForeignKeyField('models.Seller', source_field='seller_id', db_constraint=True, to_field='id', related_name='drift_findings', on_delete=OnDelete.CASCADE)),
                ('run_id', fields.IntField()),
                ('kind', fields.CharEnumField(description='EDITED: EDITED\nDEACTIVATED: DEACTIVATED\nDELETED: DELETED\nFOREIGN: FOREIGN', enum_type=DriftKind, max_length=16)),
                ('halo_licence_id', fields.IntField()),
                ('halo_client_id', fields.IntField()),
                ('licence_name', fields.CharField(max_length=255)),
                ('subscription', fields.ForeignKeyField('models.Subscription', source_field='subscription_id', null=True, db_constraint=True, to_field='id', related_name='drift_findings', on_delete=OnDelete.SET_NULL)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='drift_findings', on_delete=OnDelete.SET_NULL)),
                ('changes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('found_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'drift_finding', 'app': 'models', 'indexes': [Index(fields=['seller_id', 'run_id']), Index(fields=['seller_id', 'halo_licence_id'])], 'pk_attr': 'id', 'table_description': "One licence of a drift check's report (the seller's latest successful check is the"},
            bases=['Model'],
        ),
        AlterFieldKeepingIndexes(
            model_name='IntegrationIssue',
            name='kind',
            field=fields.CharEnumField(description='CONNECTION_REJECTED: CONNECTION_REJECTED\nHALO_UNREACHABLE: HALO_UNREACHABLE\nRATE_LIMIT_EXHAUSTED: RATE_LIMIT_EXHAUSTED\nRECORDS_REJECTED: RECORDS_REJECTED\nSYNC_FAILED: SYNC_FAILED\nSYNC_OVERDUE: SYNC_OVERDUE\nSYNC_NEEDS_APPROVAL: SYNC_NEEDS_APPROVAL\nEXISTING_LICENCES_TO_REVIEW: EXISTING_LICENCES_TO_REVIEW\nDRIFT_FOUND: DRIFT_FOUND', enum_type=IssueKind, max_length=32),
        ),
        ops.AddField(
            model_name='Seller',
            name='daily_drift_check',
            field=fields.BooleanField(default=False),
        ),
        AlterFieldKeepingIndexes(
            model_name='SyncRun',
            name='kind',
            field=fields.CharEnumField(description='ORGANIZATIONS: ORGANIZATIONS\nSUBSCRIPTIONS: SUBSCRIPTIONS\nRECONCILE: RECONCILE', enum_type=SyncKind, max_length=16),
        ),
    ]
