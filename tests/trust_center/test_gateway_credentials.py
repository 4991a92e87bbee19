import pytest

from tests.factories import PremisesGatewayFactory
from trust_center import crypto, selectors, services
from trust_center.models import GatewayCredential, KeyAuditEvent
from trust_center.services import GatewayCredentialError

pytestmark = pytest.mark.django_db


def test_issuing_returns_a_strong_random_secret_the_portal_can_read_back(rep):
    premises_gateway = PremisesGatewayFactory()
    secret = services.gateway_credential_issue(premises_gateway=premises_gateway, by=rep)

    assert len(secret) >= 43  # 32 random bytes, url-safe base64
    assert selectors.gateway_secret_get(premises_gateway=premises_gateway) == secret
    credential = GatewayCredential.objects.get(premises_gateway=premises_gateway)
    assert credential.version == 1
    assert credential.rotated_at is None
    assert secret not in credential.secret_ciphertext
    event = KeyAuditEvent.objects.get(action="credential_issued")
    assert (event.actor, event.premises_gateway) == (rep, premises_gateway)


def test_each_gateway_gets_its_own_secret():
    first = services.gateway_credential_issue(premises_gateway=PremisesGatewayFactory())
    second = services.gateway_credential_issue(premises_gateway=PremisesGatewayFactory())
    assert first != second


def test_a_chosen_secret_is_stored_as_given():
    premises_gateway = PremisesGatewayFactory()
    chosen = "demo-gateway-secret-0001"
    assert services.gateway_credential_issue(premises_gateway=premises_gateway, secret=chosen) == (
        chosen
    )
    assert selectors.gateway_secret_get(premises_gateway=premises_gateway) == chosen


@pytest.mark.parametrize("weak", ["", "short", " padded-secret-value-1234 ", "x" * 257])
def test_a_weak_or_malformed_chosen_secret_is_refused(weak):
    with pytest.raises(GatewayCredentialError, match="16 to 256 characters"):
        services.gateway_credential_issue(premises_gateway=PremisesGatewayFactory(), secret=weak)
    assert not GatewayCredential.objects.exists()


def test_a_gateway_without_a_credential_has_no_secret():
    assert selectors.gateway_secret_get(premises_gateway=PremisesGatewayFactory()) is None


def test_issuing_twice_is_refused():
    premises_gateway = PremisesGatewayFactory()
    first = services.gateway_credential_issue(premises_gateway=premises_gateway)
    with pytest.raises(GatewayCredentialError, match="rotate it instead"):
        services.gateway_credential_issue(premises_gateway=premises_gateway)
    assert selectors.gateway_secret_get(premises_gateway=premises_gateway) == first


def test_rotating_replaces_the_secret_and_counts_the_version(administrator):
    premises_gateway = PremisesGatewayFactory()
    first = services.gateway_credential_issue(premises_gateway=premises_gateway)

    second = services.gateway_credential_rotate(premises_gateway=premises_gateway, by=administrator)

    assert second != first
    assert selectors.gateway_secret_get(premises_gateway=premises_gateway) == second
    credential = GatewayCredential.objects.get(premises_gateway=premises_gateway)
    assert credential.version == 2
    assert credential.rotated_at is not None
    event = KeyAuditEvent.objects.get(action="credential_rotated")
    assert event.actor == administrator
    assert "version 2" in event.detail


def test_rotating_without_a_credential_is_refused():
    with pytest.raises(GatewayCredentialError, match="issue one"):
        services.gateway_credential_rotate(premises_gateway=PremisesGatewayFactory())


def test_the_gateway_side_checks_the_secret_against_its_sha256():
    premises_gateway = PremisesGatewayFactory()
    secret = services.gateway_credential_issue(premises_gateway=premises_gateway)
    configured_hash = crypto.secret_sha256(secret)

    assert len(configured_hash) == 64
    assert crypto.secret_matches_sha256(secret, configured_hash)
    rotated = services.gateway_credential_rotate(premises_gateway=premises_gateway)
    assert not crypto.secret_matches_sha256(rotated, configured_hash)
