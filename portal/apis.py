"""REST API for the portal's customers and premises (CRM and the portal's own pages)."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
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

from han_gateway.models import HanDevice
from portal import commissioning, han_tests, reviews, selectors
from portal.history import HistoryFilter, history_rows
from portal.models import DiagnosisReview, Finding, HanTestRun, Premise, User
from portal.presentation import run_snapshot
from portal.services import han_data_view_open
from portal.viewers import Viewer
from trust_center.services import RegistrationError


class _ErrorSerializer(serializers.Serializer[Any]):
    """DRF's answer to a request it refuses: one reason for people."""

    detail = serializers.CharField()


def _errors(*statuses: int) -> dict[int, Any]:
    """The documented error answers of an endpoint.

    Every endpoint needs a signed-in caller (401) and is throttled (429). A 400 names the
    fields at fault (``{"field": ["reason"]}``); the others carry ``detail``.
    """
    return {
        code: OpenApiTypes.OBJECT if code == 400 else _ErrorSerializer
        for code in (401, 429, *statuses)
    }


class _GatewaySerializer(serializers.Serializer[Any]):
    meter_number = serializers.CharField()
    ami_id = serializers.CharField()
    kind = serializers.CharField()
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField()
    region = serializers.CharField()


class _InterfaceSerializer(serializers.Serializer[Any]):
    identifier = serializers.CharField()
    technology = serializers.CharField()
    channel = serializers.IntegerField(allow_null=True)
    pan_id = serializers.IntegerField(allow_null=True)
    extended_pan_id = serializers.CharField()
    security_level = serializers.IntegerField(allow_null=True)


class _DeviceSerializer(serializers.Serializer[Any]):
    eui64 = serializers.CharField(help_text="Masked for staff when the device is customer-owned.")
    masked = serializers.BooleanField()
    network = serializers.CharField()
    category = serializers.CharField(source="category_label")
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField()


class _PremiseSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    service_point_id = serializers.CharField()
    address = serializers.CharField(source="full_address")
    meter_number = serializers.CharField(
        source="premises_gateway.meter_number", default=None, allow_null=True
    )


class _CustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    account_number = serializers.CharField()


def _premise_payload(viewer: Viewer, premise: Premise) -> dict[str, Any]:
    gateway = premise.premises_gateway
    data: dict[str, Any] = dict(_PremiseSummarySerializer(premise).data)
    data["premises_gateway"] = _GatewaySerializer(gateway).data if gateway else None
    data["interfaces"] = (
        _InterfaceSerializer(gateway.interfaces.all(), many=True).data if gateway else []
    )
    devices = selectors.premise_han_devices(viewer=viewer, premise=premise)
    data["devices"] = _DeviceSerializer(devices, many=True).data
    return data


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
    class OutputSerializer(_CustomerSerializer):
        email = serializers.EmailField()
        phone = serializers.CharField()

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **_errors(404)})
    def get(self, request: Request, customer_id: int) -> Response:
        customer = selectors.customer_get_for_user(user=request.user, customer_id=customer_id)
        if customer is None:
            raise Http404
        viewer = han_data_view_open(user=request.user, customer=customer, what="API: customer")
        data: dict[str, Any] = dict(self.OutputSerializer(customer).data)
        data["premises"] = [
            _premise_payload(viewer, premise)
            for premise in selectors.customer_premises(customer=customer)
        ]
        return Response(data)


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
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **_errors(404)})
    def get(self, request: Request, premise_id: int) -> Response:
        premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        viewer = han_data_view_open(
            user=request.user, customer=premise.customer, premise=premise, what="API: premise"
        )
        return Response(_premise_payload(viewer, premise))


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
    return Response(
        {"detail": str(error), "active_run_id": error.run.pk}, status=status.HTTP_409_CONFLICT
    )


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
        responses={201: OpenApiTypes.OBJECT, **_errors(400, 404, 409, 429)},
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

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **_errors(404)})
    def get(self, request: Request, run_id: int) -> Response:
        return _run_response(request, _run_or_404(request, run_id))


class PremiseCaseListApi(APIView):
    """A premise's test cases, newest first, each with its runs."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **_errors(404)})
    def get(self, request: Request, premise_id: int) -> Response:
        premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        cases = premise.test_cases.prefetch_related("runs").order_by("-opened_at")[:50]
        return Response(
            {
                "results": [
                    {
                        "id": case.pk,
                        "status": case.status,
                        "problem": case.problem,
                        "opened_at": case.opened_at.isoformat(),
                        "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
                        "runs": [
                            {"id": run.pk, "number": run.number, "status": run.status}
                            for run in sorted(case.runs.all(), key=lambda run: run.number)
                        ],
                    }
                    for case in cases
                ]
            }
        )


class RunActionApi(APIView):
    """Record the action taken about a finished run's findings."""

    class RunActionInputSerializer(serializers.Serializer[Any]):
        action = serializers.CharField(max_length=48)
        note = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    @extend_schema(
        request=RunActionInputSerializer,
        responses={201: OpenApiTypes.OBJECT, **_errors(400, 404, 409)},
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
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, **_errors(400, 404, 409)})
    def post(self, request: Request, run_id: int) -> Response:
        run = _run_or_404(request, run_id)
        try:
            han_tests.han_test_cancel(run=run, user=_signed_in_user(request))
        except han_tests.HanTestError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return _run_response(request, run)


class RunRetestApi(APIView):
    @extend_schema(
        request=None, responses={201: OpenApiTypes.OBJECT, **_errors(400, 404, 409, 429)}
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
        source="premise.premises_gateway.meter_number", default=None, allow_null=True
    )
    region = serializers.CharField()
    gateway_model = serializers.CharField()
    started_by = serializers.CharField(source="started_by.username", default=None, allow_null=True)
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

    @extend_schema(
        request=InputSerializer,
        responses={200: OpenApiTypes.OBJECT, **_errors(400, 403, 404)},
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
        return Response(
            {
                "finding_id": finding.pk,
                "rule": review.rule,
                "verdict": review.verdict,
                "comment": review.comment,
                "reviewed_at": review.reviewed_at.isoformat(),
            }
        )
