import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def _reviews_know_their_run(apps, schema_editor):
    DiagnosisReview = apps.get_model("portal", "DiagnosisReview")
    Finding = apps.get_model("portal", "Finding")
    DiagnosisReview.objects.update(
        run_id=Subquery(Finding.objects.filter(pk=OuterRef("finding_id")).values("run_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_customer_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="diagnosisreview",
            name="run",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reviews",
                to="portal.hantestrun",
            ),
        ),
        migrations.RunPython(_reviews_know_their_run, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="diagnosisreview",
            name="run",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reviews",
                to="portal.hantestrun",
            ),
        ),
        migrations.AddIndex(
            model_name="diagnosisreview",
            index=models.Index(fields=["verdict", "run"], name="review_verdict_run_idx"),
        ),
    ]
