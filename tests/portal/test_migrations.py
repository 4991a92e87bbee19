"""The squashed migrations take over a database that the former migrations made."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

# What the former migrations recorded in a database's django_migrations table.
FORMER = {
    "han_gateway": ["0001_initial", "0002_service_url_origins", "0003_han_device_name"],
    "trust_center": [
        "0001_initial",
        "0002_ended_registrations_hold_no_keys",
        "0003_gateway_service_url_audit",
        "0004_approved_image_ota_file_version",
        "0005_registration_interface",
    ],
    "portal": [
        "0001_initial",
        "0002_hantestcase_hantestrun_finding_observeddevice_and_more",
        "0003_privacy",
        "0004_run_enqueued_at",
        "0005_history_and_reviews",
        "0006_customer_search_indexes",
        "0007_review_run",
        "0008_api_tokens",
        "0009_admin_names",
        "0010_drop_unused_knox_table",
        "0011_run_outcome_is_final",
        "0012_case_subject_device",
        "0013_observed_interface_radio",
        "0014_search_by_phone_email_meter_digits",
        "0015_case_work",
        "0016_language_and_work_orders",
    ],
}


def _plan() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


@pytest.mark.django_db
def test_a_database_the_former_migrations_made_needs_only_the_knox_table_dropped():
    recorder = MigrationRecorder(connection)
    recorder.migration_qs.filter(app__in=FORMER).delete()
    for app, names in FORMER.items():
        for name in names:
            recorder.record_applied(app, name)

    # Only what came after the squash: 0002 repeats the former 0010's statement (it finds nothing
    # left to drop), then the portal's later migrations.
    later = sorted(
        name
        for app, name in MigrationLoader(connection).disk_migrations
        if app == "portal" and not name.startswith("0001_")
    )
    assert later[0] == "0002_drop_unused_knox_table"
    assert _plan() == [f"portal.{name}" for name in later]


@pytest.mark.django_db
def test_migrate_refuses_a_database_the_former_migrations_left_half_way():
    recorder = MigrationRecorder(connection)
    recorder.migration_qs.filter(app="trust_center").delete()
    for name in FORMER["trust_center"][:3]:
        recorder.record_applied("trust_center", name)

    # Django would skip the squash silently and leave the database without the later columns.
    with pytest.raises(SystemCheckError) as refusal:
        call_command("migrate", "--no-input", verbosity=0, skip_checks=False)
    assert (
        "The database ran 3 of the 5 migrations that "
        "trust_center.0001_squashed_0005_registration_interface replaces, "
        "the last 0003_gateway_service_url_audit." in str(refusal.value)
    )
    assert "remove var/" in str(refusal.value)
