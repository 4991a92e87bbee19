"""Starting, watching, acting on and retesting runs through the pages and the API."""

import time

import pytest

from portal.models import HanTestCase, HanTestRun, Premise, User

pytestmark = pytest.mark.django_db


def _premise(meter_number: str) -> Premise:
    return Premise.objects.get(premises_gateway__meter_number=meter_number)


def test_rep_presses_test_han_and_lands_on_the_live_run(client, demo_world, no_enqueue):
    client.force_login(User.objects.get(username="rep"))
    premise = _premise("MTR-100002")
    response = client.post(f"/premises/{premise.pk}/test/", {"problem": "IHD shows no prices"})
    run = HanTestRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.case.problem == "IHD shows no prices"
    page = client.get(response["Location"]).content.decode()
    assert "HAN test at 88 Lakeview Drive" in page
    assert 'id="run-snapshot"' in page
    assert "Cancel test" in page


def test_second_press_says_a_test_is_running_and_links_to_it(client, demo_world, no_enqueue):
    client.force_login(User.objects.get(username="rep"))
    premise = _premise("MTR-100002")
    client.post(f"/premises/{premise.pk}/test/")
    response = client.post(f"/premises/{premise.pk}/test/")
    run = HanTestRun.objects.get()
    assert response.status_code == 409
    assert f'href="/runs/{run.pk}/"' in response.content.decode()


def test_customer_presses_test_han_on_their_own_premise_only(client, demo_world, no_enqueue):
    client.force_login(User.objects.get(username="bernard"))
    assert client.post(f"/premises/{_premise('MTR-100002').pk}/test/").status_code == 302
    assert client.post(f"/premises/{_premise('MTR-100001').pk}/test/").status_code == 404
    run = HanTestRun.objects.get()
    client.force_login(User.objects.get(username="alice"))
    assert client.get(f"/runs/{run.pk}/").status_code == 404
    assert client.post(f"/runs/{run.pk}/cancel/").status_code == 404
    assert client.get(f"/api/v1/runs/{run.pk}/").status_code == 404


def test_test_han_needs_a_post(client, demo_world):
    client.force_login(User.objects.get(username="rep"))
    assert client.get(f"/premises/{_premise('MTR-100002').pk}/test/").status_code == 405


def test_cancel_button_cancels_a_queued_run(client, demo_world, no_enqueue):
    client.force_login(User.objects.get(username="rep"))
    client.post(f"/premises/{_premise('MTR-100002').pk}/test/")
    run = HanTestRun.objects.get()
    client.post(f"/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == HanTestRun.Status.CANCELLED


def test_bad_action_form_shows_the_reason_and_records_nothing(client, demo_world, no_enqueue):
    client.force_login(User.objects.get(username="rep"))
    client.post(f"/premises/{_premise('MTR-100002').pk}/test/")
    run = HanTestRun.objects.get()
    HanTestRun.objects.filter(pk=run.pk).update(status="failed")
    response = client.post(f"/runs/{run.pk}/actions/", {"action": "other", "note": ""}, follow=True)
    assert "Describe the action you took." in response.content.decode()
    assert run.actions.count() == 0
    client.post(f"/runs/{run.pk}/actions/", {"action": "change_range", "note": "Moved the IHD"})
    assert run.actions.get().recorded_by.username == "rep"


def test_api_runs_the_whole_loop(client, demo_world, no_enqueue):
    from portal.test_runs.execute import han_test_run_execute

    client.force_login(User.objects.get(username="rep"))
    premise = _premise("MTR-100002")
    started = client.post(f"/api/v1/premises/{premise.pk}/runs/", {"problem": "no prices"})
    assert started.status_code == 201
    run_id = started.json()["run"]["id"]
    conflict = client.post(f"/api/v1/premises/{premise.pk}/runs/")
    assert conflict.status_code == 409
    assert conflict.json()["active_run_id"] == run_id

    han_test_run_execute(run_id)
    run = client.get(f"/api/v1/runs/{run_id}/").json()
    assert run["run"]["status"] == "failed"
    assert run["findings"][0]["rule"] == "weak_link"
    assert len(run["devices"]) == 6

    bad = client.post(f"/api/v1/runs/{run_id}/actions/", {"action": "wish_harder"})
    assert bad.status_code == 400
    assert "recommended actions" in bad.json()["detail"]
    recorded = client.post(
        f"/api/v1/runs/{run_id}/actions/", {"action": "change_range", "note": "moved"}
    )
    assert recorded.status_code == 201
    assert recorded.json()["actions"][0]["action"] == "change_range"

    retest = client.post(f"/api/v1/runs/{run_id}/retest/")
    assert retest.status_code == 201
    second = retest.json()
    assert second["run"]["number"] == 2 and second["case"]["id"] == run["case"]["id"]
    cancelled = client.post(f"/api/v1/runs/{second['run']['id']}/cancel/")
    assert cancelled.json()["run"]["status"] == "cancelled"

    cases = client.get(f"/api/v1/premises/{premise.pk}/cases/").json()["results"]
    assert [r["status"] for r in cases[0]["runs"]] == ["failed", "cancelled"]


def test_api_refuses_bad_input_clearly(client, demo_world, no_enqueue):
    client.force_login(User.objects.get(username="rep"))
    premise = _premise("MTR-100002")
    response = client.post(
        f"/api/v1/premises/{premise.pk}/runs/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    response = client.post(f"/api/v1/premises/{premise.pk}/runs/", {"problem": "x" * 201})
    assert response.status_code == 400
    assert client.post("/api/v1/premises/999999/runs/").status_code == 404
    assert client.get("/api/v1/runs/999999/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_test_started_from_the_page(client, demo_world, celery_worker):
    """Through the broker to a real worker (in-process thread, or a process with Redis)."""
    client.force_login(User.objects.get(username="rep"))
    premise = _premise("MTR-100001")
    client.post(f"/premises/{premise.pk}/test/")
    run = HanTestRun.objects.get()
    deadline = time.monotonic() + 60
    while run.is_active:
        assert time.monotonic() < deadline, f"run stuck in {run.status}: {run.phase}"
        time.sleep(0.1)
        run.refresh_from_db()
    assert run.status == HanTestRun.Status.PASSED, run.error_message
    assert run.devices.count() == 6
    assert run.case.status == HanTestCase.Status.RESOLVED


def _finished_run(client, username: str) -> HanTestRun:
    from portal.test_runs.execute import han_test_run_execute

    client.force_login(User.objects.get(username=username))
    client.post(f"/premises/{_premise('MTR-100002').pk}/test/")
    run = HanTestRun.objects.get()
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    assert run.status == HanTestRun.Status.FAILED
    return run


@pytest.mark.parametrize("username", ["rep", "bernard"])
def test_the_run_page_leads_with_the_verdict_and_retest_follows_the_action(
    client, demo_world, no_enqueue, username
):
    run = _finished_run(client, username)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    order = [
        'id="run"',  # the verdict: status, case state, what is wrong and what to do
        "data-verdict",
        'id="findings-title"',
        'id="next-title"',
        "Record action",
        ">Retest<",
        'id="devices-title"',
        'id="picture-title"',
        'id="steps-title"',
    ]
    places = [page.index(marker) for marker in order]
    assert places == sorted(places), dict(zip(order, places, strict=True))
    assert "data-case-state" in page[: page.index("data-verdict")]


def test_a_customer_is_offered_what_they_can_do_and_may_record_only_that(
    client, demo_world, no_enqueue
):
    run = _finished_run(client, "bernard")
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "I moved the device closer to the meter" in page
    assert "Escalate to the AMI network team" not in page
    assert "Move the HAN to a quieter channel" not in page

    refused = client.post(
        f"/runs/{run.pk}/actions/", {"action": "escalate_to_ami_network"}, follow=True
    )
    assert "Pick one of the things listed" in refused.content.decode()
    api = client.post(f"/api/v1/runs/{run.pk}/actions/", {"action": "change_channel"})
    assert api.status_code == 400
    assert run.actions.count() == 0

    client.post(f"/runs/{run.pk}/actions/", {"action": "change_range"})
    assert run.actions.get().action == "change_range"
    snapshot = client.get(f"/runs/{run.pk}/").context["snapshot"]
    assert snapshot["actions"][0]["action_label"] == "I moved the device closer to the meter"
    client.force_login(User.objects.get(username="rep"))
    staff_snapshot = client.get(f"/runs/{run.pk}/").context["snapshot"]
    assert staff_snapshot["actions"][0]["action_label"].startswith("Move the device closer")


def test_the_timeline_is_in_the_live_snapshot_in_the_utilitys_time_zone(
    client, demo_world, no_enqueue, settings
):
    settings.TIME_ZONE = "America/Chicago"
    run = _finished_run(client, "rep")
    client.post(f"/runs/{run.pk}/actions/", {"action": "change_range", "note": "IHD moved"})
    snapshot = client.get(f"/api/v1/runs/{run.pk}/").json()

    whats = [event["what"] for event in snapshot["timeline"]]
    assert whats[:2] == ["opened the case", "started run 1"]
    assert whats[2].startswith("finished run 1")
    assert whats[3].startswith("recorded after run 1: Move the device closer")
    # One clock on the page: the server writes every time it shows, zone named.
    assert all(event["at_text"].endswith((" CST", " CDT")) for event in snapshot["timeline"])
    assert snapshot["actions"][0]["recorded_at_text"].endswith((" CST", " CDT"))
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert snapshot["timeline"][0]["at_text"] in page

    client.force_login(User.objects.get(username="bernard"))
    assert client.get(f"/api/v1/runs/{run.pk}/").json()["timeline"] == []
    assert "data-timeline" not in client.get(f"/runs/{run.pk}/").content.decode()


def test_cancelling_a_running_test_says_so_at_once_and_the_worker_stops_within_a_second(
    client, demo_world, no_enqueue
):
    from portal.test_runs.recorder import RunCancelled, RunRecorder

    client.force_login(User.objects.get(username="rep"))
    client.post(f"/premises/{_premise('MTR-100002').pk}/test/")
    run = HanTestRun.objects.get()
    HanTestRun.objects.filter(pk=run.pk).update(status=HanTestRun.Status.RUNNING)
    recorder = RunRecorder(run=HanTestRun.objects.get(pk=run.pk), deadline=time.monotonic() + 60)
    recorder.checkpoint()  # heartbeat written just now: the next one is seconds away

    answer = client.post(f"/api/v1/runs/{run.pk}/cancel/")
    assert answer.status_code == 200
    assert answer.json()["run"]["cancel_requested"] is True
    assert answer.json()["run"]["phase"] == "Cancelling…"
    time.sleep(0.6)
    with pytest.raises(RunCancelled):
        recorder.checkpoint()


def test_a_wrong_verdict_without_a_comment_is_refused_at_its_form_keeping_the_choice(
    client, demo_world, no_enqueue
):
    run = _finished_run(client, "rep")
    client.force_login(User.objects.get(username="admin"))
    finding = run.findings.first()
    response = client.post(
        f"/runs/{run.pk}/findings/{finding.pk}/review/", {"verdict": "wrong", "comment": "  "}
    )
    assert response["Location"].endswith(f"#finding-{finding.pk}")
    page = client.get(response["Location"]).content.decode()
    form = page[page.index(f'id="finding-{finding.pk}"') :]
    form = form[: form.index("</form>")]
    assert "Say what was wrong, so the rule can be tuned." in form
    assert 'value="wrong" checked' in form
    assert 'aria-invalid="true"' in form
    assert not finding.__class__.objects.filter(pk=finding.pk, review__isnull=False).exists()
    # Said once: the next view of the page is clean.
    again = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Say what was wrong, so the rule can be tuned." not in again
    assert 'value="wrong" checked' not in again


def test_rule_names_read_as_words_wherever_they_are_shown(client, demo_world, no_enqueue):
    run = _finished_run(client, "rep")
    client.force_login(User.objects.get(username="admin"))
    finding = run.findings.get(rule="weak_link")
    client.post(
        f"/runs/{run.pk}/findings/{finding.pk}/review/", {"verdict": "wrong", "comment": "fine"}
    )
    for url in (f"/runs/{run.pk}/", "/reviews/", "/history/", "/dashboard/"):
        page = client.get(url).content.decode()
        visible = page.replace('value="weak_link"', "").replace("finding=weak_link", "")
        visible = visible.replace('data-rule="weak_link"', "").replace('"rule": "weak_link"', "")
        assert "weak_link" not in visible, url
    assert "Weak link" in client.get("/reviews/").content.decode()
