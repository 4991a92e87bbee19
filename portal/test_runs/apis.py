"""REST API for test runs: start, read, record an action, cancel, retest, a premise's cases."""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from han_gateway.models import HanDevice
from portal.access.roles import signed_in_user
from portal.access.viewers import han_data_view_open
from portal.access.visibility import premise_get_for_user
from portal.api.serializers import ErrorSerializer, error_responses, named_enum_field
from portal.diagnosis.rules import ACTION_LABELS, Action, Severity
from portal.drawing.link_quality import LINK_QUALITY_LABELS
from portal.models import (
    HanTestCase,
    HanTestRun,
    RunStep,
)
from portal.test_runs.payloads import run_snapshot
from portal.test_runs.selectors import run_or_404
from portal.test_runs.start import (
    OTHER_ACTION,
    ActiveRunExists,
    HanTestError,
    StartLimitReached,
    han_test_cancel,
    han_test_retest,
    han_test_start,
    recorded_action_create,
)


class _ActiveRunConflictSerializer(ErrorSerializer):
    """A HAN test cannot start: one is already active on the premise."""

    active_run_id = serializers.IntegerField(help_text="The run already active on the premise.")


_RunStatusField = named_enum_field("RunStatusEnum", HanTestRun.Status.choices)


_RunStepStatusField = named_enum_field("RunStepStatusEnum", RunStep.Status.choices)


_CaseStatusField = named_enum_field("CaseStatusEnum", HanTestCase.Status.choices)


_ACTION_CHOICES = [(action.value, ACTION_LABELS.get(action, action.value)) for action in Action]


_ActionField = named_enum_field("ActionEnum", _ACTION_CHOICES)


_RecordedActionField = named_enum_field(
    "RecordedActionEnum", [*_ACTION_CHOICES, (OTHER_ACTION, "Other")]
)


# The words portal.link_quality gives a link quality.
_OPERATIONAL_CHECK_RESULTS = ("acknowledged", "not_acknowledged", "not_delivered")


class _RunStateSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.IntegerField(help_text="1 for the first run of a case, then 2, 3…")
    status = _RunStatusField()
    status_label = serializers.CharField()
    active = serializers.BooleanField(help_text="Queued or running.")
    cancel_requested = serializers.BooleanField(
        help_text="Asked to cancel and still running: it stops at its next step."
    )
    progress = serializers.IntegerField(help_text="Percent done, 0-100.")
    phase = serializers.CharField()
    estimated_seconds = serializers.IntegerField(
        allow_null=True, help_text="Until the run ends, once it can be told."
    )
    error = serializers.CharField(help_text="Why the run could not complete; blank otherwise.")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class _RunStepSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Stable within the run, e.g. scan:han0.")
    title = serializers.CharField()
    status = _RunStepStatusField()
    detail = serializers.CharField()


class _RunInterfaceSerializer(serializers.Serializer[Any]):
    identifier = serializers.CharField()
    channel = serializers.IntegerField(allow_null=True)
    pan_id = serializers.IntegerField(allow_null=True)
    device_count = serializers.IntegerField(allow_null=True)
    max_devices = serializers.IntegerField(
        allow_null=True, help_text="How many devices the meter supports on it; null: not said."
    )
    security_level = serializers.IntegerField(allow_null=True)
    summary = serializers.CharField(
        help_text="What the gateway said of it, as a head-end shows it: Smart Energy version, "
        "coordinator stack and firmware, radio, extended PAN id, Trust Center, join policy "
        "and open join windows."
    )


class _RunDeviceSerializer(serializers.Serializer[Any]):
    """A device the run found.

    Customers are shown the required fields only; staff all of them. For staff without the
    customer's consent, a customer-owned device is masked: ``masked`` is there, its EUI-64
    keeps only its last two bytes, and its model, firmware and network address are blank.
    """

    key = serializers.CharField(help_text="Unique within the run.")
    sequence = serializers.IntegerField(help_text="Order in which the run found it.")
    interface = serializers.CharField(required=False)
    eui64 = serializers.CharField()
    network_address = serializers.CharField(
        required=False, allow_null=True, help_text="Hexadecimal, e.g. 0x1A2B."
    )
    device_type = serializers.CharField(required=False)
    category = serializers.ChoiceField(
        choices=HanDevice.Category.choices, allow_blank=True, required=False
    )
    category_label = serializers.CharField()
    network = serializers.ChoiceField(choices=HanDevice.Network.choices)
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField(required=False)
    power_source = serializers.CharField(required=False)
    reachable = serializers.BooleanField()
    link_quality = serializers.IntegerField(
        required=False, allow_null=True, help_text="Zigbee LQI, 0-255."
    )
    link_quality_label = serializers.ChoiceField(choices=LINK_QUALITY_LABELS)
    rssi = serializers.IntegerField(required=False, allow_null=True, help_text="dBm.")
    join_method = serializers.CharField(
        required=False, help_text="As the gateway reports it: install_code, default_key, unknown…"
    )
    join_method_label = serializers.CharField(required=False)
    aps_encrypted = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text=(
            "Staff only: whether its answers came APS-encrypted with its link key; null when it"
            " sent no ZCL answer."
        ),
    )
    registered = serializers.BooleanField(required=False)
    operational_check = serializers.ChoiceField(
        choices=_OPERATIONAL_CHECK_RESULTS,
        allow_blank=True,
        help_text="The answer to a utility test message; blank when none was sent.",
    )
    masked = serializers.BooleanField(
        required=False, help_text="There, and true, only on a masked device."
    )


class _RunFindingSerializer(serializers.Serializer[Any]):
    """What the diagnosis found. Customers are shown the required fields only; staff all."""

    rule = serializers.CharField()
    severity = serializers.ChoiceField(choices=[severity.value for severity in Severity])
    customer_text = serializers.CharField()
    action = _ActionField(required=False, help_text="The recommended action.")
    action_label = serializers.CharField(required=False)
    title = serializers.CharField(required=False)
    evidence = serializers.CharField(required=False)
    eui64 = serializers.CharField(
        required=False, help_text="The device it is about; blank when it is about the HAN."
    )
    group_words = serializers.CharField(
        required=False,
        help_text="How several findings of this rule in a row are shown as one, {count} "
        "standing for their number; blank for a rule that does not group.",
    )


class _RecordedActionSerializer(serializers.Serializer[Any]):
    action = _RecordedActionField()
    action_label = serializers.CharField()
    note = serializers.CharField()
    recorded_by = serializers.CharField(help_text="Blank when that user has been removed.")
    recorded_at = serializers.DateTimeField()
    recorded_at_text = serializers.CharField(help_text="In the utility's time zone, named.")


class _TimelineEventSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    at_text = serializers.CharField(help_text="In the utility's time zone, named.")
    who = serializers.CharField()
    what = serializers.CharField()
    run_id = serializers.IntegerField(allow_null=True)


class _RunReferenceSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = _RunStatusField()


class _LinkQualityChangeSerializer(serializers.Serializer[Any]):
    device = _RunDeviceSerializer()
    before = serializers.IntegerField()
    after = serializers.IntegerField()


class _RunComparisonSerializer(serializers.Serializer[Any]):
    """What changed since the case's previous run that finished."""

    previous_run = _RunReferenceSerializer()
    devices_found = _RunDeviceSerializer(many=True)
    devices_lost = _RunDeviceSerializer(many=True)
    link_quality_changes = _LinkQualityChangeSerializer(many=True)
    findings_resolved = _RunFindingSerializer(many=True)
    findings_new = _RunFindingSerializer(many=True)


class _CaseReferenceSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = _CaseStatusField()


# Describes the answer and does not build it: payloads.run_snapshot builds it, for the
# live stream too, and _run_response adds `case` and `premise_id`.
class _RunSerializer(serializers.Serializer[Any]):
    """A run as its live page shows it to the caller, with its case and premise."""

    run = _RunStateSerializer()
    steps = _RunStepSerializer(many=True)
    interfaces = _RunInterfaceSerializer(many=True)
    devices = _RunDeviceSerializer(many=True)
    findings = _RunFindingSerializer(many=True)
    actions = _RecordedActionSerializer(many=True)
    comparison = _RunComparisonSerializer(
        allow_null=True, help_text="Null for a case's first run, and while the run is active."
    )
    timeline = _TimelineEventSerializer(
        many=True, help_text="Who did what in the case, oldest first; empty for customers."
    )
    case = _CaseReferenceSerializer()
    premise_id = serializers.IntegerField()


def _run_response(request: Request, run: HanTestRun, status: int = 200) -> Response:
    """The run as ``_RunSerializer`` documents it."""
    run.refresh_from_db()
    viewer = han_data_view_open(
        user=request.user,
        customer=run.premise.customer,
        premise=run.premise,
        what=f"API: run {run.pk}",
    )
    snapshot = run_snapshot(run, viewer=viewer)
    snapshot.pop("kind")
    snapshot["case"] = {"id": run.case_id, "status": run.case.status}
    snapshot["premise_id"] = run.premise_id
    return Response(snapshot, status=status)


def _active_conflict(error: ActiveRunExists) -> Response:
    conflict = {"detail": str(error), "active_run_id": error.run.pk}
    return Response(_ActiveRunConflictSerializer(conflict).data, status=status.HTTP_409_CONFLICT)


def _start_limited(error: StartLimitReached) -> Response:
    return Response(
        {"detail": str(error)},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(error.retry_after_s)},
    )


# A start and a retest answer alike: the new run, or why none was started.
_RUN_STARTED_RESPONSES = {
    201: _RunSerializer,
    **error_responses(400, 404, 429),
    409: _ActiveRunConflictSerializer,
}


class RunStartApi(APIView):
    """Start the Utility HAN Test Tool on a premise (in its open case, or a new one)."""

    class RunStartInputSerializer(serializers.Serializer[Any]):
        problem = serializers.CharField(max_length=200, required=False, allow_blank=True)
        subject_eui64 = serializers.CharField(
            max_length=64,
            required=False,
            allow_blank=True,
            help_text="The device the call is about: one of the premise's utility devices on "
            "record. The case keeps it for its retests and the diagnosis leads with it.",
        )

    @extend_schema(
        request=RunStartInputSerializer,
        responses=_RUN_STARTED_RESPONSES,
    )
    def post(self, request: Request, premise_id: int) -> Response:
        premise = premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        data = self.RunStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = han_test_start(
                premise=premise,
                user=signed_in_user(request),
                problem=data.validated_data.get("problem", ""),
                subject_eui64=data.validated_data.get("subject_eui64", ""),
            )
        except ActiveRunExists as error:
            return _active_conflict(error)
        except StartLimitReached as error:
            return _start_limited(error)
        except HanTestError as error:
            raise ValidationError({"detail": str(error)}) from error
        return _run_response(request, run, status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    """A run with its steps, interfaces, devices, findings, actions and changes."""

    @extend_schema(responses={200: _RunSerializer, **error_responses(404)})
    def get(self, request: Request, run_id: int) -> Response:
        return _run_response(request, run_or_404(user=request.user, run_id=run_id))


class _CaseSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = _CaseStatusField()
    problem = serializers.CharField()
    opened_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    runs = serializers.SerializerMethodField()

    @extend_schema_field(_RunReferenceSerializer(many=True))
    def get_runs(self, case: HanTestCase) -> Any:
        runs = sorted(case.runs.all(), key=lambda run: run.number)
        return _RunReferenceSerializer(runs, many=True).data


class PremiseCaseListApi(APIView):
    """A premise's test cases, newest first, each with its runs."""

    @extend_schema(
        responses={
            200: inline_serializer("CaseList", {"results": _CaseSerializer(many=True)}),
            **error_responses(404),
        }
    )
    def get(self, request: Request, premise_id: int) -> Response:
        premise = premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        cases = premise.test_cases.prefetch_related("runs").order_by("-opened_at")[:50]
        return Response({"results": _CaseSerializer(cases, many=True).data})


class RunActionApi(APIView):
    """Record the action taken about a finished run's findings."""

    class RunActionInputSerializer(serializers.Serializer[Any]):
        action = serializers.CharField(max_length=48)
        note = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    @extend_schema(
        request=RunActionInputSerializer,
        responses={201: _RunSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = run_or_404(user=request.user, run_id=run_id)
        data = self.RunActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            recorded_action_create(
                run=run,
                user=signed_in_user(request),
                action=data.validated_data["action"],
                note=data.validated_data.get("note", ""),
            )
        except HanTestError as error:
            raise ValidationError({"detail": str(error)}) from error
        return _run_response(request, run, status=status.HTTP_201_CREATED)


class RunCancelApi(APIView):
    @extend_schema(request=None, responses={200: _RunSerializer, **error_responses(404, 409)})
    def post(self, request: Request, run_id: int) -> Response:
        run = run_or_404(user=request.user, run_id=run_id)
        try:
            han_test_cancel(run=run, user=signed_in_user(request))
        except HanTestError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return _run_response(request, run)


class RunRetestApi(APIView):
    @extend_schema(
        request=None,
        responses=_RUN_STARTED_RESPONSES,
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = run_or_404(user=request.user, run_id=run_id)
        try:
            next_run = han_test_retest(run=run, user=signed_in_user(request))
        except ActiveRunExists as error:
            return _active_conflict(error)
        except StartLimitReached as error:
            return _start_limited(error)
        except HanTestError as error:
            raise ValidationError({"detail": str(error)}) from error
        return _run_response(request, next_run, status=status.HTTP_201_CREATED)
