"""REST API for the run history and admins' reviews of findings."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from portal.access.roles import signed_in_user, user_is_administrator
from portal.api.serializers import error_responses
from portal.history import reviews
from portal.history.filters import HistoryFilter
from portal.history.pagination import (
    DEFAULT_PAGE_SIZE,
    PAGE_SIZES,
    Cursor,
    InvalidCursor,
    keyset_page,
)
from portal.history.queries import history_rows
from portal.models import (
    DiagnosisReview,
    Finding,
    HanTestRun,
)
from portal.test_runs.selectors import run_or_404, runs_visible_to


class _HistoryKeysetPagination(CursorPagination):
    """The history page's keyset pages (``keyset_page``), newest first: no COUNT, no OFFSET.

    DRF's cursor pagination is kept only for its answer and schema (``next``, ``previous``,
    ``results``); the pages themselves, their cursors and sizes are the history page's.
    """

    ordering = ("-created_at", "-id")
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "per_page"
    max_page_size = max(PAGE_SIZES)

    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[HanTestRun], request: Request, view: Any = None
    ) -> list[HanTestRun]:
        self.page_url = request.build_absolute_uri()
        token = request.query_params.get(self.cursor_query_param)
        try:
            cursor = Cursor.decode(token) if token else None
        except InvalidCursor as error:
            raise NotFound(str(error)) from error
        self.keyset = keyset_page(
            queryset,
            field="created_at",
            cursor=cursor,
            page_size=self.get_page_size(request) or DEFAULT_PAGE_SIZE,
        )
        return self.keyset.rows

    def get_next_link(self) -> str | None:
        return self._link(self.keyset.next_cursor)

    def get_previous_link(self) -> str | None:
        return self._link(self.keyset.previous_cursor)

    def _link(self, token: str | None) -> str | None:
        if token is None:
            return None
        return replace_query_param(self.page_url, self.cursor_query_param, token)


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
    get=extend_schema(
        responses={200: _RunSummarySerializer(many=True), **error_responses(400, 404)}
    )
)
class RunHistoryApi(generics.ListAPIView[HanTestRun]):
    """Runs the caller may see, filtered like the history page, newest first, cursor-paged."""

    serializer_class = _RunSummarySerializer
    pagination_class = _HistoryKeysetPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = HistoryFilter

    def get_queryset(self) -> QuerySet[HanTestRun]:
        return history_rows(runs_visible_to(self.request.user))

    def get_serializer_context(self) -> dict[str, Any]:
        return {
            **super().get_serializer_context(),
            "reviews": user_is_administrator(self.request.user),
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
        responses={200: DiagnosisReviewSerializer, **error_responses(400, 403, 404)},
    )
    def put(self, request: Request, run_id: int, finding_id: int) -> Response:
        if not user_is_administrator(request.user):
            raise PermissionDenied("Only administrators review diagnoses.")
        run = run_or_404(user=request.user, run_id=run_id)
        finding = reviews.finding_get_for_run(run=run, finding_id=finding_id)
        if finding is None:
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            review = reviews.diagnosis_review_record(
                finding=finding,
                user=signed_in_user(request),
                verdict=data.validated_data["verdict"],
                comment=data.validated_data.get("comment", ""),
            )
        except reviews.ReviewError as error:
            raise ValidationError({"comment": [str(error)]}) from error
        return Response(self.DiagnosisReviewSerializer(review).data)
