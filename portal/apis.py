"""REST API for the portal's customers and premises (CRM and the portal's own pages)."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    Direction,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from portal import commissioning, han_tests, reviews, selectors
from portal.diagnosis import ACTION_LABELS, Action, Severity
from portal.history import HistoryFilter, history_rows
from portal.link_quality import LINK_QUALITY_LABELS
from portal.models import (
    Customer,
    DiagnosisReview,
    Finding,
    HanTestCase,
    HanTestRun,
    Premise,
    RunStep,
    User,
)
from portal.presentation import run_snapshot
from portal.services import han_data_view_open
from portal.viewers import Viewer
from trust_center.services import RegistrationError


class _ErrorSerializer(serializers.Serializer[Any]):
    """DRF's answer to a request it refuses: one reason for people."""

    detail = serializers.CharField()


class _ValidationErrorSerializer(serializers.Serializer[Any]):
    """A request the API cannot accept (400): the reasons, under the name of each field at fault.

    ``non_field_errors`` holds the reasons about the request as a whole; a body that cannot be
    read, or a refusal that is about no one field, has a single ``detail`` instead.
    """

    detail = serializers.CharField(required=False)


class _ValidationErrorSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """The field names are the request's own, so the schema lists them as any other key."""

    target_class = _ValidationErrorSerializer

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        schema: dict[str, Any] = super().map_serializer(auto_schema, direction)
        schema["additionalProperties"] = {"type": "array", "items": {"type": "string"}}
        return schema


class _ActiveRunConflictSerializer(_ErrorSerializer):
    """A HAN test cannot start: one is already active on the premise."""

    active_run_id = serializers.IntegerField(help_text="The run already active on the premise.")


def _errors(*statuses: int) -> dict[int, Any]:
    """The documented error answers of an endpoint.

    Every endpoint needs a signed-in caller (401) and is throttled (429). A 400 names the
    fields at fault (``{"field": ["reason"]}``); the others carry ``detail``.
    """
    return {
        code: _ValidationErrorSerializer if code == 400 else _ErrorSerializer
        for code in (401, 429, *statuses)
    }


class _GatewaySerializer(serializers.Serializer[Any]):
    meter_number = serializers.CharField()
    ami_id = serializers.CharField()
    kind = serializers.ChoiceField(choices=PremisesGateway.Kind.choices)
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField()
    region = serializers.CharField()


class _InterfaceSerializer(serializers.Serializer[Any]):
    identifier = serializers.CharField()
    technology = serializers.ChoiceField(choices=NetworkInterface.Technology.choices)
    channel = serializers.IntegerField(allow_null=True)
    pan_id = serializers.IntegerField(allow_null=True)
    extended_pan_id = serializers.CharField()
    security_level = serializers.IntegerField(allow_null=True)


class _DeviceSerializer(serializers.Serializer[Any]):
    eui64 = serializers.CharField(help_text="Masked for staff when the device is customer-owned.")
    masked = serializers.BooleanField()
    network = serializers.ChoiceField(choices=HanDevice.Network.choices)
    category = serializers.CharField(source="category_label")
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField()


class _PremiseSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    service_point_id = serializers.CharField()
    address = serializers.CharField(source="full_address")
    # Through a premise without a gateway: DRF answers None for a nullable field.
    meter_number = serializers.CharField(source="premises_gateway.meter_number", allow_null=True)


class _PremiseDetailSerializer(_PremiseSummarySerializer):
    """A premise, its gateway, and the HAN devices on record as the caller may see them."""

    premises_gateway = _GatewaySerializer(allow_null=True)
    interfaces = serializers.SerializerMethodField()
    # As context["viewer"], the Viewer built by the access check, may see them.
    devices = serializers.SerializerMethodField()

    @extend_schema_field(_InterfaceSerializer(many=True))
    def get_interfaces(self, premise: Premise) -> Any:
        gateway = premise.premises_gateway
        return _InterfaceSerializer(gateway.interfaces.all(), many=True).data if gateway else []

    @extend_schema_field(_DeviceSerializer(many=True))
    def get_devices(self, premise: Premise) -> Any:
        viewer: Viewer = self.context["viewer"]
        devices = selectors.premise_han_devices(viewer=viewer, premise=premise)
        return _DeviceSerializer(devices, many=True).data


class _CustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    account_number = serializers.CharField()


class _CustomerWithPremisesSerializer(_CustomerSerializer):
    premises = _PremiseSummarySerializer(many=True)


class CustomerListApi(APIView):
    """Search customers by name, account number, address, service point or meter number."""

    OutputSerializer = _CustomerWithPremisesSerializer

    @extend_schema(
        operation_id="customers_search",
        parameters=[OpenApiParameter("search", str, description="Name, account, address or meter")],
        responses={
            200: inline_serializer(
                "CustomerSearchResults", {"results": _CustomerWithPremisesSerializer(many=True)}
            ),
            **_errors(403),
        },
    )
    def get(self, request: Request) -> Response:
        if not selectors.user_works_for_utility(request.user):
            raise PermissionDenied("Customer search is for the utility's staff.")
        query = request.query_params.get("search", "")[:100]
        customers = selectors.customer_search(user=request.user, query=query)
        return Response({"results": self.OutputSerializer(customers, many=True).data})


class CustomerDetailApi(APIView):
    class CustomerDetailSerializer(_CustomerSerializer):
        """A customer and their premises, with HAN devices as the caller may see them."""

        # Blank when none is on record, so not documented as an e-mail address.
        email = serializers.CharField()
        phone = serializers.CharField()
        premises = serializers.SerializerMethodField()

        @extend_schema_field(_PremiseDetailSerializer(many=True))
        def get_premises(self, customer: Customer) -> Any:
            premises = selectors.customer_premises(customer=customer)
            return _PremiseDetailSerializer(premises, many=True, context=self.context).data

    @extend_schema(responses={200: CustomerDetailSerializer, **_errors(404)})
    def get(self, request: Request, customer_id: int) -> Response:
        customer = selectors.customer_get_for_user(user=request.user, customer_id=customer_id)
        if customer is None:
            raise Http404
        viewer = han_data_view_open(user=request.user, customer=customer, what="API: customer")
        return Response(self.CustomerDetailSerializer(customer, context={"viewer": viewer}).data)


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("customer", int, description="Only this customer's")],
        responses={200: _PremiseSummarySerializer(many=True), **_errors(400)},
    )
)
class PremiseListApi(generics.ListAPIView[Premise]):
    """The premises the caller may see: a customer's own; every premise for staff (paged)."""

    serializer_class = _PremiseSummarySerializer

    def get_queryset(self) -> QuerySet[Premise]:
        premises = selectors.premises_visible_to(self.request.user)
        customer_id = self.request.query_params.get("customer")
        if customer_id:
            if not customer_id.isdigit():
                raise ValidationError({"customer": ["Must be a customer id (a number)."]})
            premises = premises.filter(customer_id=int(customer_id))
        return premises.select_related("premises_gateway").order_by("pk")


class PremiseDetailApi(APIView):
    @extend_schema(responses={200: _PremiseDetailSerializer, **_errors(404)})
    def get(self, request: Request, premise_id: int) -> Response:
        premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        viewer = han_data_view_open(
            user=request.user, customer=premise.customer, premise=premise, what="API: premise"
        )
        return Response(_PremiseDetailSerializer(premise, context={"viewer": viewer}).data)


def _named_enum_field(name: str, choices: Any) -> Callable[..., serializers.ChoiceField]:
    """A choice field whose values the schema shows once, as the enum component ``name``.

    drf-spectacular names an enum after its field: the run's, the step's and the case's
    ``status`` each appear in several components and would collide (a warning).
    """

    @extend_schema_field(serializers.ChoiceField(choices=choices), component_name=name)
    class NamedEnumField(serializers.ChoiceField):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(choices=choices, **kwargs)

    return NamedEnumField


_RunStatusField = _named_enum_field("RunStatusEnum", HanTestRun.Status.choices)
_RunStepStatusField = _named_enum_field("RunStepStatusEnum", RunStep.Status.choices)
_CaseStatusField = _named_enum_field("CaseStatusEnum", HanTestCase.Status.choices)
_ACTION_CHOICES = [(action.value, ACTION_LABELS.get(action, action.value)) for action in Action]
_ActionField = _named_enum_field("ActionEnum", _ACTION_CHOICES)
_RecordedActionField = _named_enum_field(
    "RecordedActionEnum", [*_ACTION_CHOICES, (han_tests.OTHER_ACTION, "Other")]
)


# The words portal.link_quality gives a link quality.
_OPERATIONAL_CHECK_RESULTS = ("acknowledged", "not_acknowledged")


class _RunStateSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.IntegerField(help_text="1 for the first run of a case, then 2, 3…")
    status = _RunStatusField()
    status_label = serializers.CharField()
    active = serializers.BooleanField(help_text="Queued or running.")
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
    security_level = serializers.IntegerField(allow_null=True)


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


class _RecordedActionSerializer(serializers.Serializer[Any]):
    action = _RecordedActionField()
    action_label = serializers.CharField()
    note = serializers.CharField()
    recorded_by = serializers.CharField(help_text="Blank when that user has been removed.")
    recorded_at = serializers.DateTimeField()


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


# Describes the answer and does not build it: presentation.run_snapshot builds it, for the
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
    case = _CaseReferenceSerializer()
    premise_id = serializers.IntegerField()


def _run_or_404(request: Request, run_id: int) -> HanTestRun:
    run = selectors.run_get_for_user(user=request.user, run_id=run_id)
    if run is None:
        raise Http404
    return run


def _signed_in_user(request: Request) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


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


def _active_conflict(error: han_tests.ActiveRunExists) -> Response:
    conflict = {"detail": str(error), "active_run_id": error.run.pk}
    return Response(_ActiveRunConflictSerializer(conflict).data, status=status.HTTP_409_CONFLICT)


def _start_limited(error: han_tests.StartLimitReached) -> Response:
    return Response(
        {"detail": str(error)},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(error.retry_after_s)},
    )


class RunStartApi(APIView):
    """Start the Utility HAN Test Tool on a premise (in its open case, or a new one)."""

    class RunStartInputSerializer(serializers.Serializer[Any]):
        problem = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(
        request=RunStartInputSerializer,
        responses={
            201: _RunSerializer,
            **_errors(400, 404, 429),
            409: _ActiveRunConflictSerializer,
        },
    )
    def post(self, request: Request, premise_id: int) -> Response:
        premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        data = self.RunStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = han_tests.han_test_start(
                premise=premise,
                user=_signed_in_user(request),
                problem=data.validated_data.get("problem", ""),
            )
        except han_tests.ActiveRunExists as error:
            return _active_conflict(error)
        except han_tests.StartLimitReached as error:
            return _start_limited(error)
        except han_tests.HanTestError as error:
            raise ValidationError({"detail": str(error)}) from error
        return _run_response(request, run, status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    """A run with its steps, interfaces, devices, findings, actions and changes."""

    @extend_schema(responses={200: _RunSerializer, **_errors(404)})
    def get(self, request: Request, run_id: int) -> Response:
        return _run_response(request, _run_or_404(request, run_id))


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
            **_errors(404),
        }
    )
    def get(self, request: Request, premise_id: int) -> Response:
        premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
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
        responses={201: _RunSerializer, **_errors(400, 404)},
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = _run_or_404(request, run_id)
        data = self.RunActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            han_tests.recorded_action_create(
                run=run,
                user=_signed_in_user(request),
                action=data.validated_data["action"],
                note=data.validated_data.get("note", ""),
            )
        except han_tests.HanTestError as error:
            raise ValidationError({"detail": str(error)}) from error
        return _run_response(request, run, status=status.HTTP_201_CREATED)


class RunCancelApi(APIView):
    @extend_schema(request=None, responses={200: _RunSerializer, **_errors(404, 409)})
    def post(self, request: Request, run_id: int) -> Response:
        run = _run_or_404(request, run_id)
        try:
            han_tests.han_test_cancel(run=run, user=_signed_in_user(request))
        except han_tests.HanTestError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return _run_response(request, run)


class RunRetestApi(APIView):
    @extend_schema(
        request=None,
        responses={
            201: _RunSerializer,
            **_errors(400, 404, 429),
            409: _ActiveRunConflictSerializer,
        },
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = _run_or_404(request, run_id)
        try:
            next_run = han_tests.han_test_retest(run=run, user=_signed_in_user(request))
        except han_tests.ActiveRunExists as error:
            return _active_conflict(error)
        except han_tests.StartLimitReached as error:
            return _start_limited(error)
        except han_tests.HanTestError as error:
            raise ValidationError({"detail": str(error)}) from error
        return _run_response(request, next_run, status=status.HTTP_201_CREATED)


class _RegistrationSerializer(serializers.Serializer[Any]):
    """A registration as the API shows it: never its install code or link key."""

    id = serializers.IntegerField()
    eui64 = serializers.CharField()
    category = serializers.CharField()
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    status_reason = serializers.CharField()
    join_window_expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class RegistrationListApi(APIView):
    """A premise's Utility HAN device registrations; POST registers one (CRM integration)."""

    class RegistrationInputSerializer(serializers.Serializer[Any]):
        eui64 = serializers.CharField(max_length=64, required=False, allow_blank=True)
        install_code = serializers.CharField(max_length=80, required=False, allow_blank=True)
        qr_text = serializers.CharField(max_length=300, required=False, allow_blank=True)
        category = serializers.ChoiceField(
            choices=HanDevice.Category.choices,
            # DRF's own message repeats the value sent, which could be a misplaced install code.
            error_messages={"invalid_choice": "Choose one of the kinds of device listed."},
        )
        manufacturer = serializers.CharField(max_length=64, required=False, allow_blank=True)
        model = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def _premise(self, request: Request, premise_id: int) -> Premise:
        premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        return premise

    @extend_schema(
        responses={
            200: inline_serializer(
                "RegistrationList", {"results": _RegistrationSerializer(many=True)}
            ),
            **_errors(404),
        }
    )
    def get(self, request: Request, premise_id: int) -> Response:
        premise = self._premise(request, premise_id)
        registrations = selectors.premise_registrations(premise=premise)
        return Response({"results": _RegistrationSerializer(registrations, many=True).data})

    @extend_schema(
        request=RegistrationInputSerializer,
        responses={201: _RegistrationSerializer, **_errors(400, 404)},
    )
    def post(self, request: Request, premise_id: int) -> Response:
        premise = self._premise(request, premise_id)
        data = self.RegistrationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            registration = commissioning.device_register(
                premise=premise, user=_signed_in_user(request), **data.validated_data
            )
        except RegistrationError as error:
            message = error.message_for(staff=selectors.user_works_for_utility(request.user))
            raise ValidationError({error.field or "non_field_errors": [message]}) from error
        return Response(_RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED)


class RegistrationDetailApi(APIView):
    """One registration's status; DELETE removes the device from the meter's HAN."""

    def _registration(self, request: Request, registration_id: int) -> Any:
        found = selectors.registration_get_for_user(
            user=request.user, registration_id=registration_id
        )
        if found is None:
            raise Http404
        return found[0]

    @extend_schema(responses={200: _RegistrationSerializer, **_errors(404)})
    def get(self, request: Request, registration_id: int) -> Response:
        return Response(_RegistrationSerializer(self._registration(request, registration_id)).data)

    @extend_schema(responses={200: _RegistrationSerializer, **_errors(404)})
    def delete(self, request: Request, registration_id: int) -> Response:
        registration = self._registration(request, registration_id)
        commissioning.device_unregister(registration=registration, user=_signed_in_user(request))
        registration.refresh_from_db()
        return Response(_RegistrationSerializer(registration).data)


class _HistoryCursorPagination(CursorPagination):
    """Keyset pages, newest first: no COUNT over millions of runs."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "per_page"
    max_page_size = 50


class _RunSummarySerializer(serializers.Serializer[Any]):
    class _FindingSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        rule = serializers.CharField()
        severity = serializers.CharField()
        action = serializers.CharField()
        title = serializers.CharField()
        review = serializers.SerializerMethodField()

        @extend_schema_field(
            inline_serializer(
                "FindingReview",
                {"verdict": serializers.CharField(), "comment": serializers.CharField()},
                allow_null=True,
            )
        )
        def get_review(self, finding: Finding) -> dict[str, str] | None:
            review = getattr(finding, "review", None) if self.context.get("reviews") else None
            if review is None:
                return None
            return {"verdict": review.verdict, "comment": review.comment}

    id = serializers.IntegerField()
    case_id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.CharField()
    case_status = serializers.CharField(source="case.status")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    premise_id = serializers.IntegerField()
    customer_id = serializers.IntegerField(source="premise.customer_id")
    meter_number = serializers.CharField(
        source="premise.premises_gateway.meter_number", allow_null=True
    )
    region = serializers.CharField()
    gateway_model = serializers.CharField()
    started_by = serializers.CharField(source="started_by.username", allow_null=True)
    findings = _FindingSerializer(many=True)
    actions_taken = serializers.SerializerMethodField()

    def get_actions_taken(self, run: HanTestRun) -> list[str]:
        return [action.action for action in run.actions.all()]


@extend_schema_view(
    # 400: a filter value that is not one of its choices; 404: a cursor that is not valid.
    get=extend_schema(responses={200: _RunSummarySerializer(many=True), **_errors(400, 404)})
)
class RunHistoryApi(generics.ListAPIView[HanTestRun]):
    """Runs the caller may see, filtered like the history page, newest first, cursor-paged."""

    serializer_class = _RunSummarySerializer
    pagination_class = _HistoryCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = HistoryFilter

    def get_queryset(self) -> QuerySet[HanTestRun]:
        return history_rows(selectors.runs_visible_to(self.request.user))

    def get_serializer_context(self) -> dict[str, Any]:
        return {
            **super().get_serializer_context(),
            "reviews": selectors.user_is_administrator(self.request.user),
        }


class FindingReviewApi(APIView):
    """An administrator judges one finding right or wrong (a comment is required for wrong)."""

    class InputSerializer(serializers.Serializer[Any]):
        verdict = serializers.ChoiceField(choices=DiagnosisReview.Verdict.choices)
        comment = serializers.CharField(
            max_length=reviews.COMMENT_MAX_LENGTH, required=False, allow_blank=True
        )

    class DiagnosisReviewSerializer(serializers.Serializer[Any]):
        finding_id = serializers.IntegerField()
        rule = serializers.CharField()
        verdict = serializers.ChoiceField(choices=DiagnosisReview.Verdict.choices)
        comment = serializers.CharField()
        reviewed_at = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer,
        responses={200: DiagnosisReviewSerializer, **_errors(400, 403, 404)},
    )
    def put(self, request: Request, run_id: int, finding_id: int) -> Response:
        if not selectors.user_is_administrator(request.user):
            raise PermissionDenied("Only administrators review diagnoses.")
        run = _run_or_404(request, run_id)
        finding = reviews.finding_get_for_run(run=run, finding_id=finding_id)
        if finding is None:
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            review = reviews.diagnosis_review_record(
                finding=finding,
                user=_signed_in_user(request),
                verdict=data.validated_data["verdict"],
                comment=data.validated_data.get("comment", ""),
            )
        except reviews.ReviewError as error:
            raise ValidationError({"comment": [str(error)]}) from error
        return Response(self.DiagnosisReviewSerializer(review).data)
