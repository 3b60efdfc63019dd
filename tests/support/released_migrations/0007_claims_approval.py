from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from gateway.models import IssueKind, LicenceDecision, ReviewState, RunState
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_lease_owner_rate_limited_since')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ClientReview',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seller', fields.ForeignKeyField('models.Seller', source_field='seller_id', db_constraint=True, to_field='id', related_name='client_reviews', on_delete=OnDelete.CASCADE)),
                ('halo_client_id', fields.IntField()),
                ('state', fields.CharEnumField(description='CLEAR: CLEAR\nPENDING: PENDING\nRESOLVED: RESOLVED', enum_type=ReviewState, max_length=16)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='client_reviews', on_delete=OnDelete.SET_NULL)),
                ('found_run_id', fields.IntField(null=True)),
                ('checked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.CharField(null=True, max_length=255)),
            ],
            options={'table': 'client_review', 'app': 'models', 'unique_together': (('seller', 'halo_client_id'),), 'indexes': [Index(fields=['seller_id', 'state'])], 'pk_attr': 'id', 'table_description': 'Day one: what a newly mapped HaloPSA client already held before the first push.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ExistingLicence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('review', fields.ForeignKeyField('models.ClientReview', source_field='review_id', db_constraint=True, to_field='id', related_name='licences', on_delete=OnDelete.CASCADE)),
                ('halo_licence_id', fields.IntField()),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('decision', fields.CharEnumField(default=LicenceDecision.UNDECIDED, description='UNDECIDED: UNDECIDED\nCLAIMED: CLAIMED\nNOT_OURS: NOT_OURS', enum_type=LicenceDecision, max_length=16)),
                ('subscription', fields.ForeignKeyField('models.Subscription', source_field='subscription_id', null=True, db_constraint=True, to_field='id', related_name='claimed_licences', on_delete=OnDelete.SET_NULL)),
                ('decided_by', fields.CharField(null=True, max_length=255)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'existing_licence', 'app': 'models', 'unique_together': (('review', 'halo_licence_id'), ('review', 'subscription')), 'pk_attr': 'id', 'table_description': 'A licence a client held before the first push, as HaloPSA had it then.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='IntegrationIssue',
            name='kind',
            field=fields.CharEnumField(description='CONNECTION_REJECTED: CONNECTION_REJECTED\nHALO_UNREACHABLE: HALO_UNREACHABLE\nRATE_LIMIT_EXHAUSTED: RATE_LIMIT_EXHAUSTED\nRECORDS_REJECTED: RECORDS_REJECTED\nSYNC_FAILED: SYNC_FAILED\nSYNC_OVERDUE: SYNC_OVERDUE\nSYNC_NEEDS_APPROVAL: SYNC_NEEDS_APPROVAL\nEXISTING_LICENCES_TO_REVIEW: EXISTING_LICENCES_TO_REVIEW', enum_type=IssueKind, max_length=32),
        ),
        ops.AddField(
            model_name='Seller',
            name='valve_enabled',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='Seller',
            name='valve_max_deactivations',
            field=fields.IntField(default=50),
        ),
        ops.AddField(
            model_name='Seller',
            name='valve_max_drop_percent',
            field=fields.IntField(default=20),
        ),
        ops.AlterField(
            model_name='SyncRun',
            name='state',
            field=fields.CharEnumField(default=RunState.QUEUED, description='QUEUED: QUEUED\nRUNNING: RUNNING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED\nCANCELLED: CANCELLED\nNEEDS_APPROVAL: NEEDS_APPROVAL', enum_type=RunState, max_length=16),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='approval',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='approved_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='approved_by',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='approved_hash',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='plan_hash',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='valve_passed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
