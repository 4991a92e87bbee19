"""The portal's tables, as its migrations 0001 to 0016 left them.

A database migrated by those migrations has this one recorded as applied; a new database is
made by this one alone. Their data fixes had nothing left to do: every database is past them.

Besides the models' tables, the database holds:
- the trigger that keeps a run's outcome final: the worker, the reaper and a cancel each end
  runs, each moving only an active run, and the database refuses any path, present or future,
  that relabels a run after it ended (a worker that outlived the reaper's verdict once turned
  "worker lost" into "gateway unreachable");
- the customer search's indexes, on PostgreSQL only. The search compares UPPER(column) with
  LIKE (icontains, istartswith, iexact): anywhere in a name, an address or a meter number
  (trigram GIN indexes), at the start of an account, meter number or email address, or of a
  phone number with its punctuation taken out (pattern btree indexes), or a whole service point
  id. They are raw SQL, not Meta.indexes: django.contrib.postgres's OpClass renders only when
  that app is installed, and SQLite has neither GIN nor operator classes; elsewhere the search
  works unindexed. Measured at 1,000,000 customers in docs/BENCHMARKS.md.
"""

import django.contrib.auth.models
import django.contrib.auth.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


ENDED = "('passed', 'failed', 'error', 'cancelled')"
REFUSAL = "a run that has ended keeps its outcome"
OUTCOME_IS_FINAL = {
    "postgresql": (
        f"""
CREATE OR REPLACE FUNCTION portal_hantestrun_outcome_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN {ENDED} AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION '{REFUSAL} (run %, %)', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_hantestrun_outcome_is_final
    BEFORE UPDATE OF status ON portal_hantestrun
    FOR EACH ROW EXECUTE FUNCTION portal_hantestrun_outcome_is_final();
""",
        """
DROP TRIGGER IF EXISTS portal_hantestrun_outcome_is_final ON portal_hantestrun;
DROP FUNCTION IF EXISTS portal_hantestrun_outcome_is_final();
""",
    ),
    "sqlite": (
        f"""
CREATE TRIGGER portal_hantestrun_outcome_is_final
    BEFORE UPDATE OF status ON portal_hantestrun
    FOR EACH ROW WHEN OLD.status IN {ENDED} AND NEW.status IS NOT OLD.status
BEGIN
    SELECT RAISE(ABORT, '{REFUSAL}');
END;
""",
        "DROP TRIGGER IF EXISTS portal_hantestrun_outcome_is_final;",
    ),
}

PHONE_DIGITS = "phone"
for mark in ("-", " ", "(", ")", ".", "+"):
    PHONE_DIGITS = f"REPLACE({PHONE_DIGITS}, '{mark}', '')"

SEARCH_INDEXES = {
    "customer_name_trgm_idx": "portal_customer USING gin (UPPER(name) gin_trgm_ops)",
    "customer_account_prefix_idx": "portal_customer (UPPER(account_number) text_pattern_ops)",
    # The very expression portal.customers.selectors.phone_digits builds.
    "customer_phone_digits_idx": f"portal_customer (({PHONE_DIGITS}) text_pattern_ops)",
    "customer_email_prefix_idx": "portal_customer (UPPER(email) text_pattern_ops)",
    "premise_address_trgm_idx": "portal_premise USING gin (UPPER(address_line) gin_trgm_ops)",
    "premise_service_point_up_idx": "portal_premise (UPPER(service_point_id))",
    "gateway_meter_prefix_idx": (
        "han_gateway_premisesgateway (UPPER(meter_number) text_pattern_ops)"
    ),
    "gateway_meter_trgm_idx": (
        "han_gateway_premisesgateway USING gin (UPPER(meter_number) gin_trgm_ops)"
    ),
}


def outcome_is_final(direction: int):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        sql = OUTCOME_IS_FINAL.get(schema_editor.connection.vendor)
        if sql is None:
            return
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(sql[direction])
        else:
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql[direction])

    return run


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """RunSQL that does nothing on databases other than PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class TrigramExtensionOnPostgreSQL(TrigramExtension):
    """Django's checks the database only going forwards; backwards it would fail on SQLite."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ("portal", "0001_initial"),
        ("portal", "0002_hantestcase_hantestrun_finding_observeddevice_and_more"),
        ("portal", "0003_privacy"),
        ("portal", "0004_run_enqueued_at"),
        ("portal", "0005_history_and_reviews"),
        ("portal", "0006_customer_search_indexes"),
        ("portal", "0007_review_run"),
        ("portal", "0008_api_tokens"),
        ("portal", "0009_admin_names"),
        ("portal", "0010_drop_unused_knox_table"),
        ("portal", "0011_run_outcome_is_final"),
        ("portal", "0012_case_subject_device"),
        ("portal", "0013_observed_interface_radio"),
        ("portal", "0014_search_by_phone_email_meter_digits"),
        ("portal", "0015_case_work"),
        ("portal", "0016_language_and_work_orders"),
    ]

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('han_gateway', '0001_squashed_0003_han_device_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='User',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('password', models.CharField(max_length=128, verbose_name='password')),
                ('last_login', models.DateTimeField(blank=True, null=True, verbose_name='last login')),
                ('is_superuser', models.BooleanField(default=False, help_text='Designates that this user has all permissions without explicitly assigning them.', verbose_name='superuser status')),
                ('username', models.CharField(error_messages={'unique': 'A user with that username already exists.'}, help_text='Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.', max_length=150, unique=True, validators=[django.contrib.auth.validators.UnicodeUsernameValidator()], verbose_name='username')),
                ('first_name', models.CharField(blank=True, max_length=150, verbose_name='first name')),
                ('last_name', models.CharField(blank=True, max_length=150, verbose_name='last name')),
                ('email', models.EmailField(blank=True, max_length=254, verbose_name='email address')),
                ('is_staff', models.BooleanField(default=False, help_text='Designates whether the user can log into this admin site.', verbose_name='staff status')),
                ('is_active', models.BooleanField(default=True, help_text='Designates whether this user should be treated as active. Unselect this instead of deleting accounts.', verbose_name='active')),
                ('date_joined', models.DateTimeField(default=django.utils.timezone.now, verbose_name='date joined')),
                ('role', models.CharField(choices=[('representative', 'Customer service representative'), ('customer', 'Customer'), ('administrator', 'Administrator'), ('installer', 'Field technician')], default='customer', max_length=16)),
                ('groups', models.ManyToManyField(blank=True, help_text='The groups this user belongs to. A user will get all permissions granted to each of their groups.', related_name='user_set', related_query_name='user', to='auth.group', verbose_name='groups')),
                ('user_permissions', models.ManyToManyField(blank=True, help_text='Specific permissions for this user.', related_name='user_set', related_query_name='user', to='auth.permission', verbose_name='user permissions')),
            ],
            options={
                'verbose_name': 'user',
                'verbose_name_plural': 'users',
                'abstract': False,
            },
            managers=[
                ('objects', django.contrib.auth.models.UserManager()),
            ],
        ),
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token_key', models.CharField(db_index=True, max_length=25)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('expiry', models.DateTimeField(blank=True, null=True)),
                ('digest', models.CharField(max_length=128, unique=True)),
                ('name', models.CharField(help_text='What uses the token, e.g. “CRM production”.', max_length=100)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auth_token_set', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['-created'],
            },
        ),
        migrations.CreateModel(
            name='Customer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=128)),
                ('account_number', models.CharField(max_length=32, unique=True)),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('phone', models.CharField(blank=True, max_length=32)),
                ('customer_han_consent', models.BooleanField(default=False, help_text='Given by the customer on their page; without it, staff see customer-owned devices only by category and vendor.', verbose_name='lets staff see customer-owned devices')),
                ('customer_han_consent_changed_at', models.DateTimeField(blank=True, null=True)),
                ('language', models.CharField(choices=[('en', 'English'), ('es', 'Español')], db_default='en', default='en', max_length=8)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['name', 'account_number'],
                'indexes': [models.Index(fields=['name'], name='portal_cust_name_dfe2aa_idx')],
            },
        ),
        migrations.AddField(
            model_name='user',
            name='customer_accounts',
            field=models.ManyToManyField(blank=True, help_text='The accounts a customer user may see (self-service).', related_name='users', to='portal.customer'),
        ),
        migrations.CreateModel(
            name='HanTestCase',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('problem', models.CharField(blank=True, max_length=200)),
                ('subject_eui64', models.CharField(blank=True, db_default='', default='', max_length=23)),
                ('status', models.CharField(choices=[('open', 'Open'), ('resolved', 'Resolved')], default='open', max_length=16)),
                ('opened_at', models.DateTimeField(auto_now_add=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('close_reason', models.CharField(blank=True, db_default='', default='', max_length=300)),
                ('closed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='closed_test_cases', to=settings.AUTH_USER_MODEL)),
                ('opened_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='opened_test_cases', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-opened_at'],
            },
        ),
        migrations.CreateModel(
            name='CaseNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField()),
                ('written_at', models.DateTimeField(auto_now_add=True)),
                ('written_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='case_notes', to=settings.AUTH_USER_MODEL)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='portal.hantestcase')),
            ],
            options={
                'ordering': ['case', 'written_at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='HanTestRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField(help_text='1 for the first run of a case, then 2, 3…')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('passed', 'Passed'), ('failed', 'Problems found'), ('error', 'Could not complete'), ('cancelled', 'Cancelled')], default='queued', max_length=16)),
                ('queue', models.CharField(default='default', max_length=64)),
                ('region', models.CharField(blank=True, max_length=32)),
                ('gateway_model', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('enqueued_at', models.DateTimeField(blank=True, help_text='When the task was last sent to the broker.', null=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, help_text='Last sign of life from the worker running it.', null=True)),
                ('progress', models.PositiveSmallIntegerField(default=0, help_text='Percent done, 0-100.')),
                ('phase', models.CharField(blank=True, max_length=120)),
                ('estimated_seconds', models.PositiveIntegerField(blank=True, null=True)),
                ('error_message', models.CharField(blank=True, max_length=300)),
                ('cancel_requested', models.BooleanField(default=False)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='portal.hantestcase')),
                ('started_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='started_test_runs', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['case', 'number'],
            },
        ),
        migrations.CreateModel(
            name='Finding',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rule', models.CharField(max_length=48)),
                ('severity', models.CharField(max_length=16)),
                ('action', models.CharField(max_length=48)),
                ('title', models.CharField(max_length=200)),
                ('evidence', models.TextField(blank=True)),
                ('customer_text', models.TextField(blank=True)),
                ('eui64', models.CharField(blank=True, max_length=23)),
                ('position', models.PositiveSmallIntegerField(default=0)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='findings', to='portal.hantestrun')),
            ],
            options={
                'ordering': ['run', 'position'],
            },
        ),
        migrations.CreateModel(
            name='DiagnosisReview',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rule', models.CharField(max_length=48)),
                ('verdict', models.CharField(choices=[('right', 'Right'), ('wrong', 'Wrong')], max_length=8)),
                ('comment', models.TextField(blank=True)),
                ('reviewed_at', models.DateTimeField()),
                ('reviewed_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='diagnosis_reviews', to=settings.AUTH_USER_MODEL)),
                ('finding', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='review', to='portal.finding')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='portal.hantestrun')),
            ],
            options={
                'ordering': ['-reviewed_at'],
            },
        ),
        migrations.CreateModel(
            name='CustomerMessage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sent_to', models.EmailField(max_length=254)),
                ('sent_at', models.DateTimeField(auto_now_add=True)),
                ('sent_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='customer_messages', to=settings.AUTH_USER_MODEL)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='portal.hantestrun')),
            ],
            options={
                'ordering': ['run', 'sent_at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='ObservedDevice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('interface', models.CharField(max_length=32)),
                ('sequence', models.PositiveIntegerField(help_text='Order in which the run found it.')),
                ('eui64', models.CharField(max_length=23, verbose_name='EUI-64')),
                ('network_address', models.PositiveIntegerField(blank=True, null=True)),
                ('device_type', models.CharField(blank=True, max_length=16)),
                ('name', models.CharField(blank=True, max_length=120)),
                ('category', models.CharField(blank=True, choices=[('pct', 'Programmable communicating thermostat'), ('in_home_display', 'In-home display'), ('load_control_switch', 'Load control switch'), ('smart_plug', 'Smart plug'), ('ems', 'Energy management system'), ('other_customer_interface', 'Other customer interface')], max_length=32)),
                ('network', models.CharField(choices=[('utility', 'Utility HAN'), ('customer', 'Customer HAN')], default='utility', max_length=16)),
                ('manufacturer', models.CharField(blank=True, max_length=64)),
                ('model', models.CharField(blank=True, max_length=64)),
                ('firmware_version', models.CharField(blank=True, max_length=32)),
                ('ota_file_version', models.BigIntegerField(blank=True, null=True)),
                ('power_source', models.CharField(blank=True, max_length=32)),
                ('profile_id', models.PositiveIntegerField(blank=True, null=True)),
                ('reachable', models.BooleanField(default=True)),
                ('link_quality', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('rssi', models.SmallIntegerField(blank=True, null=True)),
                ('join_method', models.CharField(default='unknown', max_length=16)),
                ('registered', models.BooleanField(default=False)),
                ('operational_check', models.CharField(blank=True, max_length=20)),
                ('details', models.JSONField(blank=True, default=dict, help_text='Links, endpoints and clusters as the scan reported.')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='devices', to='portal.hantestrun')),
            ],
            options={
                'ordering': ['run', 'sequence'],
            },
        ),
        migrations.CreateModel(
            name='ObservedInterface',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('identifier', models.CharField(max_length=32)),
                ('technology', models.CharField(default='zigbee', max_length=16)),
                ('channel', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('pan_id', models.PositiveIntegerField(blank=True, null=True)),
                ('extended_pan_id', models.CharField(blank=True, max_length=23)),
                ('security_level', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('device_count', models.PositiveIntegerField(blank=True, null=True)),
                ('energy_by_channel', models.JSONField(blank=True, default=dict)),
                ('radio', models.CharField(blank=True, db_default='', default='', max_length=16)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='interfaces', to='portal.hantestrun')),
            ],
            options={
                'ordering': ['run', 'identifier'],
            },
        ),
        migrations.CreateModel(
            name='Premise',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('service_point_id', models.CharField(max_length=32, unique=True)),
                ('address_line', models.CharField(max_length=200, verbose_name='address')),
                ('city', models.CharField(max_length=100)),
                ('state', models.CharField(max_length=32)),
                ('postal_code', models.CharField(max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='premises', to='portal.customer')),
                ('premises_gateway', models.ForeignKey(blank=True, help_text='The meter or pole-top device whose HAN serves this premise.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='premises', to='han_gateway.premisesgateway')),
            ],
            options={
                'ordering': ['customer', 'address_line'],
            },
        ),
        migrations.AddField(
            model_name='hantestrun',
            name='premise',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='test_runs', to='portal.premise'),
        ),
        migrations.AddField(
            model_name='hantestcase',
            name='premise',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='test_cases', to='portal.premise'),
        ),
        migrations.CreateModel(
            name='HanDataAccess',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('what', models.CharField(max_length=120)),
                ('customer_han_shown', models.BooleanField(default=False, help_text='Customer-owned devices were shown in full (consent given).')),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='accesses', to='portal.customer')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='han_data_accesses', to=settings.AUTH_USER_MODEL)),
                ('premise', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='portal.premise')),
            ],
            options={
                'verbose_name': 'HAN data access',
                'verbose_name_plural': 'HAN data accesses',
                'ordering': ['-at'],
            },
        ),
        migrations.CreateModel(
            name='RecordedAction',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(help_text="A recommended action, or 'other'.", max_length=48)),
                ('note', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('recorded_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='recorded_actions', to=settings.AUTH_USER_MODEL)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='portal.hantestrun')),
            ],
            options={
                'ordering': ['run', 'recorded_at'],
            },
        ),
        migrations.CreateModel(
            name='RunStep',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(help_text='Stable id within the run, e.g. scan:han0.', max_length=64)),
                ('title', models.CharField(max_length=120)),
                ('status', models.CharField(choices=[('running', 'Running'), ('done', 'Done'), ('failed', 'Failed'), ('skipped', 'Skipped')], default='running', max_length=16)),
                ('detail', models.CharField(blank=True, max_length=300)),
                ('started_at', models.DateTimeField(auto_now_add=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='steps', to='portal.hantestrun')),
            ],
            options={
                'ordering': ['run', 'started_at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='WorkOrder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(help_text='The recommended action it carries out.', max_length=48)),
                ('instructions', models.TextField()),
                ('scheduled_for', models.DateField()),
                ('window', models.CharField(choices=[('morning', 'Morning (8 am to noon)'), ('afternoon', 'Afternoon (noon to 5 pm)'), ('any', 'Any time of day')], default='any', max_length=16)),
                ('status', models.CharField(choices=[('open', 'Open'), ('done', 'Done'), ('cancelled', 'Cancelled')], default='open', max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('outcome', models.CharField(blank=True, max_length=300)),
                ('completed_at', models.DateTimeField(blank=True, null=True)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='work_orders', to='portal.hantestcase')),
                ('completed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='dispatched_work_orders', to=settings.AUTH_USER_MODEL)),
                ('devices', models.ManyToManyField(blank=True, related_name='work_orders', to='portal.observeddevice')),
                ('from_run', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='work_orders', to='portal.hantestrun')),
                ('installer', models.ForeignKey(limit_choices_to={'role': 'installer'}, on_delete=django.db.models.deletion.PROTECT, related_name='work_orders', to=settings.AUTH_USER_MODEL)),
                ('premise', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='work_orders', to='portal.premise')),
            ],
            options={
                'ordering': ['scheduled_for', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='Escalation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('channel_change', 'Move the HAN to another channel'), ('ami_investigation', "Investigate the meter's HAN or AMI link")], max_length=32)),
                ('reason', models.TextField()),
                ('status', models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('done', 'Done'), ('declined', 'Declined')], default='open', max_length=16)),
                ('raised_at', models.DateTimeField(auto_now_add=True)),
                ('answer', models.CharField(blank=True, max_length=300)),
                ('updated_at', models.DateTimeField(blank=True, null=True)),
                ('raised_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='raised_escalations', to=settings.AUTH_USER_MODEL)),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='escalations', to='portal.hantestcase')),
            ],
            options={
                'ordering': ['case', 'raised_at', 'pk'],
                'indexes': [models.Index(fields=['status', 'raised_at'], name='portal_esca_status_8d9db1_idx')],
            },
        ),
        migrations.AddIndex(
            model_name='finding',
            index=models.Index(fields=['rule', 'run'], name='finding_rule_run_idx'),
        ),
        migrations.AddIndex(
            model_name='finding',
            index=models.Index(fields=['action', 'run'], name='finding_action_run_idx'),
        ),
        migrations.AddIndex(
            model_name='diagnosisreview',
            index=models.Index(fields=['rule', 'verdict'], name='portal_diag_rule_0ecd9a_idx'),
        ),
        migrations.AddIndex(
            model_name='diagnosisreview',
            index=models.Index(fields=['verdict', 'run'], name='review_verdict_run_idx'),
        ),
        migrations.AddIndex(
            model_name='observeddevice',
            index=models.Index(fields=['eui64'], name='portal_obse_eui64_713cf7_idx'),
        ),
        migrations.AddIndex(
            model_name='observeddevice',
            index=models.Index(fields=['model', 'run'], name='observed_device_model_run_idx'),
        ),
        migrations.AddConstraint(
            model_name='observeddevice',
            constraint=models.UniqueConstraint(fields=('run', 'interface', 'eui64'), name='unique_observed_device_per_run'),
        ),
        migrations.AddConstraint(
            model_name='observedinterface',
            constraint=models.UniqueConstraint(fields=('run', 'identifier'), name='unique_observed_interface_per_run'),
        ),
        migrations.AddIndex(
            model_name='premise',
            index=models.Index(fields=['address_line'], name='portal_prem_address_2426fc_idx'),
        ),
        migrations.AddIndex(
            model_name='hantestrun',
            index=models.Index(fields=['status', 'heartbeat_at'], name='portal_hant_status_20afc7_idx'),
        ),
        migrations.AddIndex(
            model_name='hantestrun',
            index=models.Index(fields=['-created_at', '-id'], name='run_history_idx'),
        ),
        migrations.AddIndex(
            model_name='hantestrun',
            index=models.Index(fields=['region', '-created_at', '-id'], name='run_region_history_idx'),
        ),
        migrations.AddIndex(
            model_name='hantestrun',
            index=models.Index(fields=['started_by', '-created_at'], name='run_rep_history_idx'),
        ),
        migrations.AddIndex(
            model_name='hantestrun',
            index=models.Index(fields=['premise', '-created_at'], name='run_premise_history_idx'),
        ),
        migrations.AddConstraint(
            model_name='hantestrun',
            constraint=models.UniqueConstraint(fields=('case', 'number'), name='unique_run_number_per_case'),
        ),
        migrations.AddConstraint(
            model_name='hantestrun',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['queued', 'running'])), fields=('premise',), name='one_active_run_per_premise'),
        ),
        migrations.AddIndex(
            model_name='hantestcase',
            index=models.Index(fields=['premise', '-opened_at'], name='portal_hant_premise_8390b5_idx'),
        ),
        migrations.AddIndex(
            model_name='handataaccess',
            index=models.Index(fields=['customer', '-at'], name='portal_hand_custome_4bb258_idx'),
        ),
        migrations.AddIndex(
            model_name='handataaccess',
            index=models.Index(fields=['user', '-at'], name='portal_hand_user_id_ee531e_idx'),
        ),
        migrations.AddIndex(
            model_name='recordedaction',
            index=models.Index(fields=['action', 'run'], name='recorded_action_run_idx'),
        ),
        migrations.AddConstraint(
            model_name='runstep',
            constraint=models.UniqueConstraint(fields=('run', 'key'), name='unique_step_key_per_run'),
        ),
        migrations.AddIndex(
            model_name='workorder',
            index=models.Index(fields=['installer', 'status', 'scheduled_for'], name='portal_work_install_e83d99_idx'),
        ),
        migrations.RunPython(outcome_is_final(0), outcome_is_final(1)),
        # pg_trgm, for the trigram indexes. A trusted extension: the database's owner may
        # create it without being a superuser.
        TrigramExtensionOnPostgreSQL(),
        *[
            RunSQLOnPostgreSQL(
                sql=f"CREATE INDEX {name} ON {definition}",
                reverse_sql=f"DROP INDEX IF EXISTS {name}",
            )
            for name, definition in SEARCH_INDEXES.items()
        ],
        # Statistics on the indexed expressions, so the planner sees how selective a term
        # is; without them, a whole meter number took a parallel plan (10 ms, not 0.03 ms).
        RunSQLOnPostgreSQL(
            sql="ANALYZE portal_customer, portal_premise, han_gateway_premisesgateway",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
