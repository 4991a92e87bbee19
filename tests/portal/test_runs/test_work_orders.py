"""The installer: a rep sends a field technician with a work order made from the case's
recommendation; the technician sees only the premises of their work orders, tests on site,
records what was done and retests; a passing run resolves the case and ends the work order."""

from datetime import timedelta

import pytest
from django.utils import timezone

from han_gateway.models import HanDevice
from portal.models import HanTestCase, HanTestRun, User, WorkOrder
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.work_orders import recommendation_for, work_order_dispatch
from tests.factories import (
    FindingFactory,
    HanTestRunFactory,
    ObservedDeviceFactory,
    UserFactory,
    WorkOrderFactory,
)
from tests.portal.test_runs.runs import run_at


@pytest.fixture
def installer():
    return UserFactory(username="ivan", first_name="Ivan", last_name="Ortiz", role="installer")


@pytest.fixture
def failed_run(rep):
    run = HanTestRunFactory(started_by=rep, status="failed")
    device = ObservedDeviceFactory(run=run, eui64="00:0d:6f:00:00:00:aa:01")
    FindingFactory(
        run=run,
        rule="device_out_of_range",
        action="install_additional_device",
        title="The load control switch is out of the meter's reach",
        eui64=device.eui64,
    )
    return run


def _dispatch_form(who, **changes):
    form = {
        "installer": str(who.pk),
        "scheduled_for": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "window": "morning",
        "instructions": "Fit a range extender in the hall",
    }
    form.update(changes)
    return form


@pytest.mark.django_db
def test_the_run_page_offers_the_recommendation_and_the_rep_sends_an_installer(
    client, rep, installer, failed_run
):
    client.force_login(rep)
    page = client.get(f"/runs/{failed_run.pk}/").content.decode()
    assert "Send an installer" in page
    assert "Ivan Ortiz" in page
    # The form starts from the diagnosis: what to do, and the device it is about, ticked.
    assert "The load control switch is out of the meter&#x27;s reach. Install an additional" in page
    device = failed_run.devices.get()
    assert f'value="{device.pk}" checked' in page

    response = client.post(
        f"/cases/{failed_run.case_id}/work-orders/",
        _dispatch_form(installer, devices=[str(device.pk)]),
        follow=True,
    )
    order = WorkOrder.objects.get()
    assert f"Work order {order.pk} sent to Ivan Ortiz" in response.content.decode()
    assert (order.installer, order.premise, order.from_run, order.created_by) == (
        installer,
        failed_run.premise,
        failed_run,
        rep,
    )
    assert order.action == "install_additional_device"
    assert list(order.devices.all()) == [device]
    timeline = [
        event["what"] for event in client.get(f"/api/v1/runs/{failed_run.pk}/").json()["timeline"]
    ]
    assert any(
        what.startswith(f"sent Ivan Ortiz (work order {order.pk})") and "morning" in what
        for what in timeline
    ), timeline
    # The case card lists the visit.
    assert f"Work order {order.pk}</a>" in client.get(f"/runs/{failed_run.pk}/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"installer": "0"}, "Choose the field technician to send."),
        ({"scheduled_for": "2020-01-01"}, "cannot be booked in the past"),
        ({"scheduled_for": "next tuesday"}, "Give the day of the visit"),
        ({"scheduled_for": "2999-01-01"}, "Book the visit within 90 days."),
        ({"window": "midnight"}, "Choose the time of day"),
        ({"instructions": "   "}, "Say what the installer should do."),
        ({"devices": ["999999"]}, "Choose devices among those the last test found."),
    ],
)
def test_a_work_order_that_cannot_be_carried_out_is_refused_and_nothing_is_written(
    client, rep, installer, failed_run, changes, refusal
):
    client.force_login(rep)
    response = client.post(
        f"/cases/{failed_run.case_id}/work-orders/",
        _dispatch_form(installer, **changes),
        follow=True,
    )
    assert response.status_code == 200
    assert refusal in response.content.decode()
    assert not WorkOrder.objects.exists()


@pytest.mark.django_db
def test_a_representative_is_not_an_installer_to_send(client, rep, failed_run):
    client.force_login(rep)
    client.post(f"/cases/{failed_run.case_id}/work-orders/", _dispatch_form(rep))
    assert not WorkOrder.objects.exists()


@pytest.mark.django_db
def test_no_installer_is_sent_to_a_resolved_case(rep, installer, failed_run):
    HanTestCase.objects.filter(pk=failed_run.case_id).update(status="resolved")
    failed_run.case.refresh_from_db()
    with pytest.raises(Exception, match="resolved"):
        work_order_dispatch(
            case=failed_run.case,
            user=rep,
            installer_id=installer.pk,
            instructions="x",
            scheduled_for=timezone.localdate().isoformat(),
            window="any",
            device_ids=[],
        )


@pytest.mark.django_db
def test_a_healthy_run_recommends_nothing(rep):
    run = HanTestRunFactory(status="passed")
    FindingFactory(run=run, rule="healthy", action="none", title="All devices answer")
    assert recommendation_for(run).instructions == ""


@pytest.mark.django_db
def test_the_installer_lists_their_open_work_orders_soonest_first(client, installer):
    today = timezone.localdate()
    later = WorkOrderFactory(installer=installer, scheduled_for=today + timedelta(days=2))
    afternoon = WorkOrderFactory(installer=installer, scheduled_for=today, window="afternoon")
    morning = WorkOrderFactory(installer=installer, scheduled_for=today, window="morning")
    WorkOrderFactory(installer=installer, status="done", completed_at=timezone.now())
    someone_elses = WorkOrderFactory()
    client.force_login(installer)

    home = client.get("/", follow=True)
    assert home.redirect_chain[-1][0] == "/work-orders/"
    page = home.content.decode()
    positions = [
        page.index(f'data-work-order="{order.pk}"') for order in (morning, afternoon, later)
    ]
    assert positions == sorted(positions)
    assert page.count("data-work-order=") == 3
    assert f'data-work-order="{someone_elses.pk}"' not in page
    assert "My work orders" in page


@pytest.mark.django_db
def test_the_installer_sees_the_premise_only_while_the_work_order_is_theirs(client, installer):
    order = WorkOrderFactory(installer=installer)
    run = order.from_run
    client.force_login(installer)
    for url in (f"/work-orders/{order.pk}/", f"/runs/{run.pk}/", f"/premises/{order.premise_id}/"):
        assert client.get(url).status_code == 200, url

    # Finished a day ago and more: gone from their view, the list included.
    WorkOrder.objects.filter(pk=order.pk).update(
        status="done", completed_at=timezone.now() - timedelta(hours=25)
    )
    for url in (f"/work-orders/{order.pk}/", f"/runs/{run.pk}/", f"/premises/{order.premise_id}/"):
        assert client.get(url).status_code == 404, url
    # The customer's pages and the rep's tools stay closed all along.
    assert client.get(f"/customers/{order.premise.customer_id}/").status_code == 403
    assert client.get("/history/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("consent", [False, True])
def test_customer_owned_devices_stay_masked_for_the_installer_without_consent(
    client, installer, consent
):
    run = HanTestRunFactory(status="failed")
    run.premise.customer.customer_han_consent = consent
    run.premise.customer.save()
    own = ObservedDeviceFactory(
        run=run,
        eui64="00:1b:c5:0c:00:77:12:34",
        network=HanDevice.Network.CUSTOMER,
        model="SecretModel 9",
    )
    order = WorkOrderFactory(from_run=run, installer=installer)
    order.devices.set([own])
    client.force_login(installer)

    page = client.get(f"/work-orders/{order.pk}/").content.decode()
    snapshot = client.get(f"/api/v1/runs/{run.pk}/").json()
    shown = ("00:1b:c5:0c:00:77:12:34" in page, "SecretModel 9" in page)
    assert shown == (consent, consent)
    assert ("00:1b:c5:0c:00:77:12:34" in str(snapshot)) is consent
    # A technician reads the evidence, as staff do: the link quality is on the page.
    assert "link quality 180" in page


@pytest.mark.django_db
def test_the_installer_records_the_utilitys_actions_but_does_not_work_the_case(
    client, installer, failed_run
):
    order = WorkOrderFactory(from_run=failed_run, installer=installer)
    client.force_login(installer)
    page = client.get(f"/runs/{failed_run.pk}/").content.decode()
    assert "Install an additional device (router or range extender)" in page
    assert f"Your work order {order.pk}" in page
    assert "Add a note to the case" not in page and "Send an installer" not in page
    assert "Find a customer" not in page

    client.post(f"/runs/{failed_run.pk}/actions/", {"action": "install_additional_device"})
    assert failed_run.actions.get().recorded_by == installer
    assert client.post(f"/cases/{failed_run.case_id}/notes/", {"text": "hi"}).status_code == 403


@pytest.mark.django_db
def test_the_installer_finishes_a_visit_with_what_was_done(client, installer, failed_run):
    order = WorkOrderFactory(from_run=failed_run, installer=installer)
    client.force_login(installer)
    refused = client.post(f"/work-orders/{order.pk}/done/", {"outcome": " "}, follow=True)
    assert "Say what was done at the premise." in refused.content.decode()

    client.post(f"/work-orders/{order.pk}/done/", {"outcome": "Customer not home"})
    order.refresh_from_db()
    assert (order.status, order.outcome, order.completed_by) == (
        "done",
        "Customer not home",
        installer,
    )
    again = client.post(f"/work-orders/{order.pk}/done/", {"outcome": "x"}, follow=True)
    assert "already done" in again.content.decode()
    # The case stays open for the rep: a visit is not a passing test.
    assert HanTestCase.objects.get(pk=failed_run.case_id).status == "open"


@pytest.mark.django_db
def test_closing_the_case_by_hand_cancels_its_open_work_orders(client, rep, installer, failed_run):
    order = WorkOrderFactory(from_run=failed_run, installer=installer)
    client.force_login(rep)
    client.post(f"/cases/{failed_run.case_id}/close/", {"reason": "Customer moved out"})
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert "Customer moved out" in order.outcome
    client.force_login(installer)
    assert f'data-work-order="{order.pk}"' not in client.get("/work-orders/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_installer_fixes_a_demo_premise_on_site_and_the_case_resolves(
    client, demo_world, no_enqueue, demo_responds
):
    """MTR-100004: the load control switch is beyond the meter's reach; the rep sends the
    installer, who fits a range extender, records it and retests on site."""
    demo_responds("MTR-100004")
    run = run_at("MTR-100004")
    assert run.status == "failed"
    rep = User.objects.get(username="rep")
    installer = User.objects.get(username="installer")
    client.force_login(rep)
    client.post(
        f"/cases/{run.case_id}/work-orders/",
        {
            "installer": str(installer.pk),
            "scheduled_for": timezone.localdate().isoformat(),
            "window": "any",
            "instructions": "Fit a range extender between the meter and the switch",
        },
    )
    order = WorkOrder.objects.get()

    client.force_login(installer)
    assert client.get("/").url == "/work-orders/"
    page = client.get(f"/work-orders/{order.pk}/").content.decode()
    assert "Run the test now" in page and "Fit a range extender" in page
    client.post(f"/runs/{run.pk}/actions/", {"action": "install_additional_device"})
    retest = client.post(f"/runs/{run.pk}/retest/")
    after = HanTestRun.objects.exclude(pk=run.pk).get(case=run.case)
    assert retest.url == f"/runs/{after.pk}/"
    han_test_run_execute(after.pk)

    after.refresh_from_db()
    order.refresh_from_db()
    assert after.status == "passed", [finding.title for finding in after.findings.all()]
    assert HanTestCase.objects.get(pk=run.case_id).status == "resolved"
    assert (order.status, order.outcome) == ("done", f"The HAN passed run {after.number}.")
    done_page = client.get(f"/work-orders/{order.pk}/").content.decode()
    assert "case resolved" in done_page and "Run the test now" not in done_page
