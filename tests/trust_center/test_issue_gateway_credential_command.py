import io
import stat

import pytest
from django.core.management import CommandError, call_command

from han_gateway.models import PremisesGateway
from tests.factories import PremisesGatewayFactory
from trust_center.crypto import secret_sha256
from trust_center.selectors import gateway_secret_get

pytestmark = pytest.mark.django_db


def test_issue_and_rotate_print_only_the_digest_and_hand_over_the_secret_by_file(tmp_path):
    gateway: PremisesGateway = PremisesGatewayFactory(meter_number="MTR-777001")
    secret_file = tmp_path / "secret"
    output = io.StringIO()
    call_command(
        "issue_gateway_credential", "MTR-777001", secret_file=str(secret_file), stdout=output
    )
    secret = secret_file.read_text().strip()
    assert gateway_secret_get(premises_gateway=gateway) == secret
    assert secret not in output.getvalue()
    assert secret_sha256(secret) in output.getvalue()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600

    with pytest.raises(CommandError, match="rotate"):
        call_command("issue_gateway_credential", "MTR-777001", stdout=io.StringIO())
    call_command(
        "issue_gateway_credential",
        "MTR-777001",
        rotate=True,
        secret_file=str(secret_file),
        stdout=io.StringIO(),
    )
    rotated = secret_file.read_text().strip()
    assert rotated != secret
    assert gateway_secret_get(premises_gateway=gateway) == rotated


def test_unknown_meter_is_a_clear_error():
    with pytest.raises(CommandError, match="No premises gateway"):
        call_command("issue_gateway_credential", "MTR-NOPE", stdout=io.StringIO())
