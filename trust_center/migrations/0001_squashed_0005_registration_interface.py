"""The Trust Center's tables, as migrations 0001 to 0005 left them (see the portal's 0001)."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import han_gateway.fields
import trust_center.fields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ("trust_center", "0001_initial"),
        ("trust_center", "0002_ended_registrations_hold_no_keys"),
        ("trust_center", "0003_gateway_service_url_audit"),
        ("trust_center", "0004_approved_image_ota_file_version"),
        ("trust_center", "0005_registration_interface"),
    ]

    dependencies = [
        ('han_gateway', '0001_squashed_0003_han_device_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApprovedDevice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('manufacturer', models.CharField(max_length=64)),
                ('model', models.CharField(max_length=64)),
                ('category', models.CharField(blank=True, choices=[('pct', 'Programmable communicating thermostat'), ('in_home_display', 'In-home display'), ('load_control_switch', 'Load control switch'), ('smart_plug', 'Smart plug'), ('ems', 'Energy management system'), ('other_customer_interface', 'Other customer interface')], max_length=32)),
                ('minimum_firmware', models.CharField(blank=True, help_text='The approved firmware as the manufacturer names it, e.g. 2.1.0: shown to reps, never compared (devices report it as free text).', max_length=32)),
                ('minimum_ota_file_version', models.PositiveBigIntegerField(blank=True, help_text='The OTA Upgrade cluster file version of the approved image: a device reporting an older one is told to upgrade.', null=True, validators=[django.core.validators.MaxValueValidator(4294967295)])),
                ('ota_version_scheme', models.CharField(choices=[('bytes', 'bytes: 0x02010700 reads 2.1.7'), ('stack', 'stack: 0x02010700 reads app 2.1, stack 7.0'), ('number', 'number: 0x02010700 reads 33621760')], default='bytes', help_text='How this manufacturer writes an OTA file version for people.', max_length=8)),
                ('notes', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['manufacturer', 'model'],
                'indexes': [models.Index(fields=['model'], name='trust_cente_model_b40d6a_idx')],
                'constraints': [models.UniqueConstraint(fields=('manufacturer', 'model'), name='unique_approved_device_model')],
            },
        ),
        migrations.CreateModel(
            name='DeviceRegistration',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('service_point_id', models.CharField(help_text='The service point (premise) the device serves.', max_length=32)),
                ('eui64', han_gateway.fields.EUI64Field(verbose_name='EUI-64')),
                ('category', models.CharField(choices=[('pct', 'Programmable communicating thermostat'), ('in_home_display', 'In-home display'), ('load_control_switch', 'Load control switch'), ('smart_plug', 'Smart plug'), ('ems', 'Energy management system'), ('other_customer_interface', 'Other customer interface')], max_length=32)),
                ('manufacturer', models.CharField(blank=True, max_length=64)),
                ('model', models.CharField(blank=True, max_length=64)),
                ('interface', models.CharField(blank=True, db_default='', default='', help_text="The gateway's HAN interface the device is to join; empty: its first.", max_length=32)),
                ('install_code_ciphertext', trust_center.fields.CiphertextField(help_text="Empty when the device's QR code carried the link key itself.")),
                ('link_key_ciphertext', trust_center.fields.CiphertextField()),
                ('status', models.CharField(choices=[('registered', 'Registered'), ('join_window_open', 'Join window open'), ('joined', 'Joined'), ('verified', 'Verified'), ('failed', 'Failed'), ('expired', 'Join window expired'), ('removed', 'Removed'), ('decommissioned', 'Decommissioned')], default='registered', max_length=24)),
                ('status_reason', models.TextField(blank=True)),
                ('status_changed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('join_window_expires_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('han_device', models.ForeignKey(blank=True, help_text='The device as last seen on the HAN, once a scan has found it.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='registrations', to='han_gateway.handevice')),
                ('premises_gateway', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='device_registrations', to='han_gateway.premisesgateway')),
                ('registered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='trust_center_registrations', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['premises_gateway', 'service_point_id', 'created_at'],
            },
        ),
        migrations.CreateModel(
            name='GatewayCredential',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('secret_ciphertext', trust_center.fields.CiphertextField()),
                ('version', models.PositiveIntegerField(default=1)),
                ('issued_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('rotated_at', models.DateTimeField(blank=True, null=True)),
                ('premises_gateway', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='trust_center_credential', to='han_gateway.premisesgateway')),
            ],
            options={
                'ordering': ['premises_gateway'],
            },
        ),
        migrations.CreateModel(
            name='GatewayModelCapacity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('manufacturer', models.CharField(blank=True, help_text="Empty: any manufacturer's gateway of this model.", max_length=64)),
                ('gateway_model', models.CharField(help_text="As in the gateway's model field; compared ignoring case.", max_length=64)),
                ('max_devices', models.PositiveSmallIntegerField(help_text='Utility HAN devices the gateway can hold keys for.')),
                ('notes', models.TextField(blank=True)),
            ],
            options={
                'verbose_name_plural': 'gateway model capacities',
                'ordering': ['gateway_model', 'manufacturer'],
                'indexes': [models.Index(fields=['gateway_model'], name='trust_cente_gateway_fa14fd_idx')],
                'constraints': [models.UniqueConstraint(fields=('manufacturer', 'gateway_model'), name='unique_capacity_per_gateway_model')],
            },
        ),
        migrations.CreateModel(
            name='KeyAuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occurred_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('action', models.CharField(choices=[('registered', 'Device registered'), ('key_derived', 'Link key derived'), ('join_window_opened', 'Join window opened'), ('status_changed', 'Registration status changed'), ('removed', 'Registration removed'), ('decommissioned', 'Registration decommissioned'), ('credential_issued', 'Gateway credential issued'), ('credential_rotated', 'Gateway credential rotated'), ('service_url_changed', 'Gateway service URL changed'), ('encryption_key_rotated', 'Encryption key rotated')], max_length=32)),
                ('gateway_label', models.CharField(blank=True, help_text="The gateway's meter number when this happened.", max_length=64)),
                ('eui64', han_gateway.fields.EUI64Field(blank=True, verbose_name='EUI-64')),
                ('detail', models.TextField(blank=True)),
                ('actor', models.ForeignKey(blank=True, help_text='Empty for the system (tasks, commands).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('premises_gateway', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='han_gateway.premisesgateway')),
                ('registration', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audit_events', to='trust_center.deviceregistration')),
            ],
            options={
                'ordering': ['-occurred_at', '-id'],
            },
        ),
        migrations.AddIndex(
            model_name='deviceregistration',
            index=models.Index(fields=['premises_gateway', 'service_point_id'], name='trust_cente_premise_3e1195_idx'),
        ),
        migrations.AddIndex(
            model_name='deviceregistration',
            index=models.Index(fields=['eui64'], name='trust_cente_eui64_642902_idx'),
        ),
        migrations.AddIndex(
            model_name='deviceregistration',
            index=models.Index(fields=['status', 'join_window_expires_at'], name='trust_cente_status_45cd85_idx'),
        ),
        migrations.AddIndex(
            model_name='deviceregistration',
            index=models.Index(fields=['service_point_id'], name='trust_cente_service_56b7ce_idx'),
        ),
        migrations.AddIndex(
            model_name='deviceregistration',
            index=models.Index(fields=['created_at'], name='trust_cente_created_d05893_idx'),
        ),
        migrations.AddConstraint(
            model_name='deviceregistration',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['removed', 'decommissioned']), _negated=True), fields=('premises_gateway', 'eui64'), name='one_active_registration_per_gateway_device'),
        ),
        migrations.AddIndex(
            model_name='gatewaycredential',
            index=models.Index(fields=['rotated_at'], name='trust_cente_rotated_612cb2_idx'),
        ),
        migrations.AddIndex(
            model_name='gatewaycredential',
            index=models.Index(fields=['issued_at'], name='trust_cente_issued__7067e3_idx'),
        ),
        migrations.AddIndex(
            model_name='keyauditevent',
            index=models.Index(fields=['occurred_at'], name='trust_cente_occurre_06c8ea_idx'),
        ),
        migrations.AddIndex(
            model_name='keyauditevent',
            index=models.Index(fields=['action', 'occurred_at'], name='trust_cente_action_fe2516_idx'),
        ),
        migrations.AddIndex(
            model_name='keyauditevent',
            index=models.Index(fields=['premises_gateway', 'occurred_at'], name='trust_cente_premise_9f9a1a_idx'),
        ),
        migrations.AddIndex(
            model_name='keyauditevent',
            index=models.Index(fields=['eui64'], name='trust_cente_eui64_39b9f5_idx'),
        ),
        migrations.AddIndex(
            model_name='keyauditevent',
            index=models.Index(fields=['gateway_label'], name='trust_cente_gateway_793462_idx'),
        ),
    ]
