from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0002_drop_unused_knox_table'),
    ]

    operations = [
        migrations.AddField(
            model_name='observedinterface',
            name='reported',
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
    ]
