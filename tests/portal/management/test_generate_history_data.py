"""The generate_history_data command, run small: on SQLite by default (executemany), and with
DATABASE_URL on PostgreSQL (COPY, indexes set aside while loading) as CI runs it."""

from collections import defaultdict
from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, Max, Min

from han_gateway.models import HanDevice, PremisesGateway
from portal.diagnosis.rules import (
    RULES,
    Action,
    DiagnosisInput,
    ExpectedDevice,
    InterfaceObservation,
    RuleId,
    Severity,
    diagnose,
)
from portal.history.filters import HistoryFilter
from portal.management.commands import generate_history_data as command
from portal.models import (
    Customer,
    DiagnosisReview,
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    ObservedInterface,
    Premise,
    RecordedAction,
    User,
)
from portal.test_runs.expectations import premise_expectations
from portal.test_runs.observations import device_observation
from tests.factories import CustomerFactory, PremiseFactory

# Transactional: the command commits, rebuilds indexes and (on PostgreSQL) vacuums for real.
pytestmark = pytest.mark.django_db(transaction=True)

PREMISES = 50
RUNS = 120
FINISHED = {"passed", "failed", "error", "cancelled"}


def generate(**options) -> str:
    out = StringIO()
    arguments = {"premises": PREMISES, "runs": RUNS, "seed": 7, "reps": 5, "batch": 40}
    call_command("generate_history_data", **{**arguments, **options}, stdout=out)
    return out.getvalue()


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        return {
            index
            for table in connection.introspection.table_names(cursor)
            for index in connection.introspection.get_constraints(cursor, table)
        }


@pytest.fixture
def generated():
    return generate()


def test_it_generates_the_requested_premises_and_runs(generated):
    assert Premise.objects.count() == PREMISES
    assert HanTestRun.objects.count() == RUNS
    assert Premise.objects.filter(premises_gateway__isnull=True).count() == 0
    assert 0 < Customer.objects.count() <= PREMISES
    assert User.objects.filter(role=User.Role.REPRESENTATIVE).count() == 5
    assert f"{RUNS:,} runs" in generated


def test_generated_identifiers_keep_clear_of_the_demo_and_the_factories(generated):
    from portal.demo.premises import demo_data_load

    demo_data_load()  # MTR-1000xx, 1000234567…: would fail on a unique constraint
    CustomerFactory()
    PremiseFactory()
    assert PremisesGateway.objects.filter(meter_number__startswith="MTR-G").count() > 0
    assert Customer.objects.filter(account_number__regex=r"^8[0-9]{11}$").count() > 0


def test_each_run_has_one_interface_and_two_to_five_devices_unless_its_han_is_empty(generated):
    assert ObservedInterface.objects.count() == RUNS
    about_an_empty_han = HanTestRun.objects.filter(case__runs__findings__rule="empty_han")
    assert about_an_empty_han.exists()
    assert not about_an_empty_han.filter(devices__isnull=False).exists()
    assert not about_an_empty_han.filter(status="passed").exists()
    others = HanTestRun.objects.exclude(pk__in=about_an_empty_han).annotate(seen=Count("devices"))
    seen = others.aggregate(low=Min("seen"), high=Max("seen"))
    assert seen["low"] == 2 and 4 <= seen["high"] <= 5  # a small sample may not reach five
    for interface in ObservedInterface.objects.select_related("run"):
        assert interface.device_count == interface.run.devices.count()


def test_each_premise_has_up_to_four_devices_on_record(generated):
    per_premise: dict[tuple[int, str], int] = defaultdict(int)
    for device in HanDevice.objects.all():
        per_premise[(device.premises_gateway_id, device.service_point_id)] += 1
    assert max(per_premise.values()) <= 4


def test_every_run_is_finished_and_remembers_its_gateway(generated):
    runs = HanTestRun.objects.select_related("premise__premises_gateway")
    assert {run.status for run in runs} <= FINISHED
    assert not HanTestRun.objects.filter(status__in=HanTestRun.ACTIVE).exists()
    for run in runs:
        gateway = run.premise.premises_gateway
        assert (run.region, run.gateway_model) == (gateway.region, gateway.model)
        assert run.created_at <= run.started_at <= run.finished_at


def test_cases_number_their_runs_from_one_and_resolve_on_a_pass(generated):
    for case in HanTestCase.objects.prefetch_related("runs"):
        runs = sorted(case.runs.all(), key=lambda run: run.number)
        assert [run.number for run in runs] == list(range(1, len(runs) + 1))
        assert len(runs) <= 3
        assert [run.created_at for run in runs] == sorted(run.created_at for run in runs)
        assert all(run.premise_id == case.premise_id for run in runs)
        passed = [run for run in runs if run.status == "passed"]
        if case.status == HanTestCase.Status.RESOLVED:
            assert passed == [runs[-1]]
            assert case.resolved_at == runs[-1].finished_at
        else:
            assert not passed


def test_findings_use_the_real_rules_and_actions(generated):
    findings = list(Finding.objects.select_related("run"))
    assert findings
    assert {finding.rule for finding in findings} <= set(RuleId)
    assert {finding.action for finding in findings} <= set(Action)
    assert {finding.severity for finding in findings} <= set(Severity)
    for finding in findings:
        healthy = finding.rule == RuleId.HEALTHY
        assert healthy == (finding.run.status == "passed")
        assert (finding.action == Action.NONE) == healthy
    unfinished = HanTestRun.objects.filter(status__in=["error", "cancelled"])
    assert not Finding.objects.filter(run__in=unfinished).exists()


def test_the_command_knows_every_diagnosis_rule():
    assert set(command.RULE_SHAPES) == {rule.id for rule in RULES}


# The facts the history plants but does not store: the approved firmware is each device kind's
# current one, the capacity is one short for over_capacity, the join window expired for
# join_window_expired, the device was found at a neighbour's meter for joined_elsewhere, the
# Trust Center refused the device for its key for install_code_mismatch, the interface accepts
# the default key for default_key_policy, and the gateway was not reached for
# gateway_unreachable.
APPROVED = tuple(command.approved_model(kind) for kind in command.DEVICE_KINDS)


def diagnosis_of(run: HanTestRun, rule: str, eui64: str) -> DiagnosisInput:
    devices = tuple(device_observation(device) for device in run.devices.all())
    expected = premise_expectations(premise=run.premise)
    expired = "expired" if rule == RuleId.JOIN_WINDOW_EXPIRED else ""
    elsewhere = command.NEIGHBOURS_METER if rule == RuleId.JOINED_ELSEWHERE else ""
    return DiagnosisInput(
        gateway_reached=rule != RuleId.GATEWAY_UNREACHABLE,
        gateway_error=run.error_message,
        interfaces=tuple(
            InterfaceObservation(
                interface.identifier,
                interface.channel,
                {int(channel): energy for channel, energy in interface.energy_by_channel.items()},
                join_policy=(
                    command.DEFAULT_KEY_ALLOWED if rule == RuleId.DEFAULT_KEY_POLICY else "unknown"
                ),
            )
            for interface in run.interfaces.all()
        ),
        devices=devices,
        expected=tuple(
            ExpectedDevice(
                device.eui64,
                device.get_category_display(),
                device.manufacturer,
                device.model,
                registration_status=expired if device.eui64 == eui64 else "",
                seen_elsewhere=elsewhere if device.eui64 == eui64 else "",
            )
            for device in expected.utility_devices
        ),
        approved=APPROVED,
        join_decisions=command.planted_refusals(rule, eui64),
        capacity=(
            sum(not device.customer_owned for device in devices) - 1
            if rule == RuleId.OVER_CAPACITY
            else None
        ),
    )


def test_generated_findings_are_what_the_diagnosis_says_about_the_generated_runs(monkeypatch):
    """Changed words in a rule change the generated findings too; hand-copied ones fail here."""
    evenly = {rule: replace(shape, weight=1) for rule, shape in command.RULE_SHAPES.items()}
    monkeypatch.setattr(command, "RULE_SHAPES", evenly)
    generate(premises=150, runs=600)
    runs = (
        HanTestRun.objects.filter(findings__isnull=False)
        .distinct()
        .select_related("premise__premises_gateway")
        .prefetch_related("devices", "interfaces", "findings")
    )
    rules_seen = set()
    for run in runs:
        stored = [
            (
                finding.rule,
                finding.severity,
                finding.action,
                finding.title,
                finding.evidence,
                finding.customer_text,
                finding.eui64,
            )
            for finding in sorted(run.findings.all(), key=lambda finding: finding.position)
        ]
        rule, eui64 = stored[0][0], stored[0][-1]
        rules_seen.add(rule)
        diagnosed = [
            (
                finding.rule,
                finding.severity,
                finding.action,
                finding.title[:200],
                finding.evidence,
                finding.customer_text,
                finding.eui64,
            )
            for finding in diagnose(diagnosis_of(run, rule, eui64))
        ]
        assert stored == diagnosed, f"run {run.pk}"
    # Every rule but the flags beside a pass, which no case is opened for.
    assert rules_seen == set(RuleId) - {rule.id for rule in RULES if rule.severity == "info"}


def test_actions_are_recorded_between_a_failed_run_and_its_retest(generated):
    actions = list(RecordedAction.objects.select_related("run"))
    assert actions
    for action in actions:
        assert action.run.status == "failed"
        retest = HanTestRun.objects.get(case_id=action.run.case_id, number=action.run.number + 1)
        assert action.run.finished_at <= action.recorded_at <= retest.created_at


def test_reviews_judge_findings_by_administrators():
    generate(premises=200, runs=1000)
    reviews = list(DiagnosisReview.objects.select_related("finding", "reviewed_by"))
    assert reviews
    for review in reviews:
        assert review.rule == review.finding.rule
        assert review.reviewed_by.role == User.Role.ADMINISTRATOR
        assert review.verdict in DiagnosisReview.Verdict.values


def test_the_history_filter_finds_generated_runs_by_finding_and_region(generated):
    finding = Finding.objects.exclude(rule=RuleId.HEALTHY).select_related("run").first()
    assert finding is not None
    rule, region = finding.rule, finding.run.region
    history = HistoryFilter({"finding": rule, "region": region}, queryset=HanTestRun.objects.all())
    assert history.is_valid(), history.errors
    expected = HanTestRun.objects.filter(region=region, findings__rule=rule).distinct()
    assert set(history.qs) == set(expected)
    assert finding.run in set(history.qs)


def test_running_again_without_wipe_fails_with_a_clear_error(generated):
    with pytest.raises(CommandError, match="--wipe-generated"):
        generate()
    assert HanTestRun.objects.count() == RUNS


def test_wipe_generated_replaces_only_generated_data(generated):
    own = PremiseFactory()
    generate(premises=30, runs=60, wipe_generated=True)
    assert Premise.objects.count() == 31
    assert HanTestRun.objects.count() == 60
    assert Premise.objects.filter(pk=own.pk).exists()


def test_the_orm_can_insert_after_the_explicit_ids(generated):
    customer = Customer.objects.create(name="Nina Ortiz", account_number="3000000001")
    premise = Premise.objects.create(
        customer=customer, service_point_id="SP-9000001", address_line="1 New Road"
    )
    case = HanTestCase.objects.create(premise=premise)
    run = HanTestRun.objects.create(case=case, premise=premise, number=1)
    Finding.objects.create(run=run, rule="healthy", severity="pass", action="none")
    ObservedDevice.objects.create(run=run, interface="han0", sequence=0, eui64="00:11")
    assert customer.pk > Customer.objects.exclude(pk=customer.pk).aggregate(Max("pk"))["pk__max"]


def test_a_failure_leaves_the_database_and_its_indexes_as_they_were(monkeypatch):
    indexes = index_names()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(command.HistoryGenerator, "history", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate()
    assert not Premise.objects.exists()
    assert index_names() == indexes


def test_indexes_and_constraints_are_all_back_afterwards():
    indexes = index_names()
    output = generate()
    assert index_names() == indexes
    if connection.vendor == "postgresql":
        assert "set aside" in output  # the COPY path, with indexes built at the end


def test_unless_present_leaves_existing_data_alone():
    """`make run` asks for a small history on every start: the second time it does nothing."""
    call_command("generate_history_data", premises=5, runs=10, days=3, reps=2, stdout=StringIO())
    before = HanTestRun.objects.count()
    out = StringIO()
    call_command(
        "generate_history_data",
        premises=5,
        runs=10,
        days=3,
        reps=2,
        unless_present=True,
        stdout=out,
    )
    assert HanTestRun.objects.count() == before
    assert "already present" in out.getvalue()
