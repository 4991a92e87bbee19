"""The gateways' tables, as migrations 0001 to 0003 left them (see the portal's 0001)."""

import django.core.validators
import django.db.models.deletion
import han_gateway.fields
import han_gateway.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ("han_gateway", "0001_initial"),
        ("han_gateway", "0002_service_url_origins"),
        ("han_gateway", "0003_han_device_name"),
    ]

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='PremisesGateway',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ami_id', models.CharField(max_length=64, unique=True, verbose_name='AMI identifier')),
                ('meter_number', models.CharField(max_length=32, unique=True)),
                ('kind', models.CharField(choices=[('meter', 'Smart meter'), ('pole_top', 'Pole-top device')], default='meter', max_length=16)),
                ('manufacturer', models.CharField(blank=True, max_length=64)),
                ('model', models.CharField(max_length=64)),
                ('firmware_version', models.CharField(blank=True, max_length=32)),
                ('region', models.CharField(default='default', help_text='AMI region; selects the worker queue.', max_length=32)),
                ('service_url', models.URLField(help_text="Where the gateway's HAN service answers, e.g. https://ami.example/han/. Only at an origin listed in HAN_GATEWAY_SERVICE_ORIGINS: the gateway's secret goes there.", validators=[han_gateway.validators.validate_service_url], verbose_name='HAN gateway service URL')),
                ('service_gateway_id', models.CharField(help_text='How the HAN gateway service names this gateway (usually the meter number).', max_length=64, verbose_name='gateway id at the service')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['meter_number'],
                'indexes': [models.Index(fields=['region', 'model'], name='han_gateway_region_750a89_idx')],
            },
        ),
        migrations.CreateModel(
            name='NetworkInterface',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('identifier', models.CharField(help_text="The interface's id at the service.", max_length=32)),
                ('technology', models.CharField(choices=[('zigbee', 'Zigbee Smart Energy')], default='zigbee', max_length=16)),
                ('channel', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(11), django.core.validators.MaxValueValidator(26)])),
                ('pan_id', models.PositiveIntegerField(blank=True, null=True, validators=[django.core.validators.MaxValueValidator(65534)], verbose_name='PAN id')),
                ('extended_pan_id', han_gateway.fields.EUI64Field(blank=True, verbose_name='extended PAN id')),
                ('security_level', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MaxValueValidator(7)])),
                ('premises_gateway', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='interfaces', to='han_gateway.premisesgateway')),
            ],
            options={
                'ordering': ['premises_gateway', 'identifier'],
            },
        ),
        migrations.CreateModel(
            name='HanDevice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('service_point_id', models.CharField(blank=True, help_text='The service point this device serves, when its gateway serves several.', max_length=32)),
                ('eui64', han_gateway.fields.EUI64Field(verbose_name='EUI-64')),
                ('network', models.CharField(choices=[('utility', 'Utility HAN'), ('customer', 'Customer HAN')], default='utility', max_length=16)),
                ('category', models.CharField(choices=[('pct', 'Programmable communicating thermostat'), ('in_home_display', 'In-home display'), ('load_control_switch', 'Load control switch'), ('smart_plug', 'Smart plug'), ('ems', 'Energy management system'), ('other_customer_interface', 'Other customer interface')], max_length=32)),
                ('manufacturer', models.CharField(blank=True, max_length=64)),
                ('model', models.CharField(blank=True, max_length=64)),
                ('firmware_version', models.CharField(blank=True, max_length=32)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('network_interface', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='devices', to='han_gateway.networkinterface')),
                ('premises_gateway', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='devices', to='han_gateway.premisesgateway')),
            ],
            options={
                'verbose_name': 'HAN device',
                'ordering': ['premises_gateway', 'category', 'eui64'],
            },
        ),
        migrations.AddConstraint(
            model_name='networkinterface',
            constraint=models.UniqueConstraint(fields=('premises_gateway', 'identifier'), name='unique_interface_per_gateway'),
        ),
        migrations.AddIndex(
            model_name='handevice',
            index=models.Index(fields=['eui64'], name='han_gateway_eui64_945faf_idx'),
        ),
        migrations.AddIndex(
            model_name='handevice',
            index=models.Index(fields=['model'], name='han_gateway_model_deb543_idx'),
        ),
        migrations.AddConstraint(
            model_name='handevice',
            constraint=models.UniqueConstraint(fields=('premises_gateway', 'eui64'), name='unique_device_per_gateway'),
        ),
    ]
