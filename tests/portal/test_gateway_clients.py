"""A gateway's service URL receives its secret: only configured origins, https in production."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from han_gateway.models import PremisesGateway
from portal.demo.premises import DemoDataError, demo_data_load
from portal.models import HanTestRun, Premise, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_start
from tests.factories import PremisesGatewayFactory
from trust_center.models import KeyAuditEvent

pytestmark = pytest.mark.django_db


def _gateway_form(gateway: PremisesGateway, service_url: str) -> dict[str, object]:
    return {
        "ami_id": gateway.ami_id,
        "meter_number": gateway.meter_number,
        "kind": gateway.kind,
        "manufacturer": gateway.manufacturer,
        "model": gateway.model,
        "firmware_version": gateway.firmware_version,
        "region": gateway.region,
        "service_url": service_url,
        "service_gateway_id": gateway.service_gateway_id,
        "interfaces-TOTAL_FORMS": "0",
        "interfaces-INITIAL_FORMS": "0",
    }


def _change_in_the_admin(client, administrator, gateway: PremisesGateway, service_url: str):
    """The administrator saves the gateway's admin form with only the service URL changed."""
    client.force_login(administrator)
    return client.post(
        f"/admin/han_gateway/premisesgateway/{gateway.pk}/change/",
        _gateway_form(gateway, service_url),
    )


def test_admin_cannot_point_a_gateway_at_another_host(client, administrator):
    gateway = PremisesGatewayFactory()
    response = _change_in_the_admin(
        client, administrator, gateway, "https://attacker.example/collect"
    )
    assert response.status_code == 200
    assert "not at an allowed gateway service origin" in response.content.decode()
    gateway.refresh_from_db()
    assert gateway.service_url == "http://127.0.0.1:8470"
    assert not KeyAuditEvent.objects.filter(action="service_url_changed").exists()


def test_admin_change_of_the_service_url_is_audited(client, administrator, settings):
    settings.HAN_GATEWAY_SERVICE_ORIGINS = ["http://127.0.0.1:*", "https://ami-south.example"]
    gateway = PremisesGatewayFactory()
    response = _change_in_the_admin(
        client, administrator, gateway, "https://ami-south.example/han/"
    )
    assert response.status_code == 302
    event = KeyAuditEvent.objects.get(action="service_url_changed")
    assert event.actor == administrator
    assert event.gateway_label == gateway.meter_number
    assert "http://127.0.0.1:8470" in event.detail
    assert "https://ami-south.example/han/" in event.detail


def test_production_refuses_plain_http_in_the_admin(client, administrator, settings):
    settings.HAN_GATEWAY_REQUIRE_HTTPS = True
    gateway = PremisesGatewayFactory(service_url="https://127.0.0.1:8470")
    response = _change_in_the_admin(client, administrator, gateway, "http://127.0.0.1:8470")
    assert "must use https:// in production" in response.content.decode()
    gateway.refresh_from_db()
    assert gateway.service_url == "https://127.0.0.1:8470"


def test_the_worker_never_sends_the_secret_to_a_url_outside_the_allowed_origins(
    demo_world, fake_gateway, no_enqueue, settings
):
    requests = []

    def record(handler):
        requests.append(dict(handler.headers))
        handler.send_response(500)
        handler.end_headers()

    url = fake_gateway(record)
    premise = Premise.objects.get(premises_gateway__meter_number="MTR-100001")
    # Written around the forms, as an old row or a direct database edit would be.
    PremisesGateway.objects.filter(premises__pk=premise.pk).update(service_url=url)
    settings.HAN_GATEWAY_SERVICE_ORIGINS = ["https://ami-north.example"]
    run = han_test_start(premise=premise, user=User.objects.get(username="rep"))
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    assert requests == []
    assert run.status == HanTestRun.Status.FAILED
    assert "not at an allowed gateway service origin" in run.findings.get().evidence


def test_the_worker_refuses_plain_http_in_production(demo_world, no_enqueue, settings):
    settings.HAN_GATEWAY_REQUIRE_HTTPS = True
    premise = Premise.objects.get(premises_gateway__meter_number="MTR-100001")
    run = han_test_start(premise=premise, user=User.objects.get(username="rep"))
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    assert run.status == HanTestRun.Status.FAILED
    assert "must use https:// in production" in run.findings.get().evidence


def test_the_demo_loader_refuses_a_url_outside_the_allowed_origins(settings):
    settings.HAN_GATEWAY_SERVICE_ORIGINS = ["https://ami-north.example"]
    with pytest.raises(DemoDataError, match="not at an allowed gateway service origin"):
        demo_data_load()
    assert not PremisesGateway.objects.exists()
    with pytest.raises(CommandError, match="not at an allowed"):
        call_command("load_demo_data", stdout=StringIO())


def test_the_demo_loader_audits_each_gateways_service_url(gateway_service):
    demo_data_load()
    assert KeyAuditEvent.objects.filter(action="service_url_changed").count() == 11


def test_the_history_generator_refuses_a_url_outside_the_allowed_origins():
    with pytest.raises(CommandError, match="not at an allowed gateway service origin"):
        call_command(
            "generate_history_data",
            premises=2,
            runs=1,
            days=1,
            reps=1,
            service_url="https://attacker.example/",
            stdout=StringIO(),
        )
    assert not PremisesGateway.objects.exists()
