"""Data migrations keep what the Trust Center held meaning what it meant."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("trust_center", "0003_gateway_service_url_audit")
AFTER = ("trust_center", "0004_approved_image_ota_file_version")


@pytest.mark.django_db(transaction=True)
def test_an_approved_minimum_firmware_becomes_its_ota_file_version():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps.get_model("trust_center", "ApprovedDevice")
    old.objects.create(manufacturer="Eaton", model="Yukon LCR-6601S", minimum_firmware="1.8.0")
    old.objects.create(manufacturer="Honeywell", model="UtilityPRO", minimum_firmware="3.4")
    old.objects.create(manufacturer="Acme", model="Odd", minimum_firmware="LCR-1.8")
    old.objects.create(manufacturer="Acme", model="Big", minimum_firmware="1.300.0")

    executor = MigrationExecutor(connection)
    executor.migrate([AFTER])
    new = executor.loader.project_state([AFTER]).apps.get_model("trust_center", "ApprovedDevice")
    images = dict(new.objects.values_list("model", "minimum_ota_file_version"))
    assert images == {
        "Yukon LCR-6601S": 0x01080000,
        "UtilityPRO": 0x03040000,
        "Odd": None,  # not a version the scheme can read: left for an administrator
        "Big": None,
    }
    assert set(new.objects.values_list("ota_version_scheme", flat=True)) == {"bytes"}
