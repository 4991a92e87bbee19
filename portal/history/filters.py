"""The history's filters: outcome, finding, action, region, rep, dates and text."""

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.core.cache import cache
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import QueryDict
from django.utils import timezone

from portal.diagnosis.rules import ACTION_LABELS, RULE_LABELS, RuleId
from portal.history.pagination import DEFAULT_PAGE_SIZE, PAGE_SIZES
from portal.history.queries import Runs
from portal.models import (
    DiagnosisReview,
    Finding,
    HanTestCase,
    HanTestRun,
    ObservedDevice,
    RecordedAction,
    User,
)


def rule_choices() -> list[tuple[str, str]]:
    return [(rule.value, RULE_LABELS[rule]) for rule in RuleId]


def action_choices() -> list[tuple[str, str]]:
    return [(action.value, label) for action, label in ACTION_LABELS.items()]


class DateInput(forms.DateInput):
    input_type = "date"


class HistoryFilter(django_filters.FilterSet):
    """What an administrator narrows the history by; every filter is optional."""

    date_from = django_filters.DateFilter(
        label="From", method="filter_date_from", widget=DateInput()
    )
    date_to = django_filters.DateFilter(label="To", method="filter_date_to", widget=DateInput())
    outcome = django_filters.ChoiceFilter(
        label="Outcome", field_name="status", choices=HanTestRun.Status.choices
    )
    case_status = django_filters.ChoiceFilter(
        label="Case", field_name="case__status", choices=HanTestCase.Status.choices
    )
    finding = django_filters.ChoiceFilter(
        label="Finding", choices=rule_choices, method="filter_finding"
    )
    recommended = django_filters.ChoiceFilter(
        label="Recommended action", choices=action_choices, method="filter_recommended"
    )
    taken = django_filters.ChoiceFilter(
        label="Action taken",
        choices=lambda: [*action_choices(), ("other", "Other")],
        method="filter_taken",
    )
    rep = django_filters.CharFilter(
        label="Started by (user name)", method="filter_rep", max_length=150
    )
    region = django_filters.CharFilter(label="Region", field_name="region", max_length=32)
    gateway_model = django_filters.CharFilter(
        label="Meter model", field_name="gateway_model", max_length=64
    )
    device_model = django_filters.CharFilter(
        label="Device model", method="filter_device_model", max_length=64
    )
    review = django_filters.ChoiceFilter(
        label="Review",
        choices=[
            ("unreviewed", "Not reviewed"),
            (DiagnosisReview.Verdict.RIGHT, "Judged right"),
            (DiagnosisReview.Verdict.WRONG, "Judged wrong"),
        ],
        method="filter_review",
    )
    sort = django_filters.ChoiceFilter(
        label="Order",
        choices=[("newest", "Newest first"), ("oldest", "Oldest first")],
        method="filter_nothing",
        empty_label=None,
    )
    per_page = django_filters.ChoiceFilter(
        label="Per page",
        choices=[(str(size), str(size)) for size in PAGE_SIZES],
        method="filter_nothing",
        empty_label=None,
    )

    class Meta:
        model = HanTestRun
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("region", "gateway_model", "device_model"):
            self.form.fields[name].widget.attrs.update(list=f"known-{name}", autocomplete="off")

    # The first and last days a date can name bound nothing, and their midnights may not exist
    # in UTC: they are left out rather than computed.
    def filter_date_from(self, queryset: Runs, name: str, value: dt.date) -> Runs:
        if value <= dt.date.min + dt.timedelta(days=1):
            return queryset
        return queryset.filter(created_at__gte=start_of(value))

    def filter_date_to(self, queryset: Runs, name: str, value: dt.date) -> Runs:
        if value >= dt.date.max - dt.timedelta(days=1):
            return queryset
        return queryset.filter(created_at__lt=start_of(value + dt.timedelta(days=1)))

    def filter_finding(self, queryset: Runs, name: str, value: str) -> Runs:
        return queryset.filter(Exists(Finding.objects.filter(rule=value, run_id=OuterRef("pk"))))

    def filter_recommended(self, queryset: Runs, name: str, value: str) -> Runs:
        return queryset.filter(Exists(Finding.objects.filter(action=value, run_id=OuterRef("pk"))))

    def filter_taken(self, queryset: Runs, name: str, value: str) -> Runs:
        return queryset.filter(
            Exists(RecordedAction.objects.filter(action=value, run_id=OuterRef("pk")))
        )

    def filter_device_model(self, queryset: Runs, name: str, value: str) -> Runs:
        return queryset.filter(
            Exists(ObservedDevice.objects.filter(model=value.strip(), run_id=OuterRef("pk")))
        )

    def filter_review(self, queryset: Runs, name: str, value: str) -> Runs:
        reviews = DiagnosisReview.objects.filter(run_id=OuterRef("pk"))
        if value == "unreviewed":
            finished = queryset.exclude(status__in=HanTestRun.ACTIVE)
            return finished.filter(~Exists(reviews))
        return queryset.filter(Exists(reviews.filter(verdict=value)))

    def filter_rep(self, queryset: Runs, name: str, value: str) -> Runs:
        # By id, not by a join on the user: the planner can then walk the rep's own index.
        rep = User.objects.filter(username=value.strip()).values("pk")[:1]
        return queryset.filter(started_by_id=Subquery(rep))

    def filter_nothing(self, queryset: Runs, name: str, value: Any) -> Runs:
        return queryset

    @property
    def newest_first(self) -> bool:
        data = getattr(self.form, "cleaned_data", {})
        return data.get("sort") != "oldest"

    @property
    def page_size(self) -> int:
        data = getattr(self.form, "cleaned_data", {})
        size = data.get("per_page")
        return int(size) if size and int(size) in PAGE_SIZES else DEFAULT_PAGE_SIZE


def start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def history_filter(data: Any, *, runs: QuerySet[HanTestRun]) -> HistoryFilter:
    # Always bound: no filters is a valid request for everything, shown with the defaults
    # in force (a bound form would otherwise show its first choices).
    bound = data.copy() if data is not None else QueryDict(mutable=True)
    bound.setdefault("per_page", str(DEFAULT_PAGE_SIZE))
    return HistoryFilter(bound, queryset=runs)


def filter_suggestions() -> dict[str, list[str]]:
    """Known regions, meter models and device models for the filters' autocomplete.

    Distinct values over millions of rows are not free, so they are cached for a while.
    """
    cached: dict[str, list[str]] | None = cache.get("history:suggestions")
    if cached is not None:
        return cached
    from han_gateway.models import HanDevice, PremisesGateway

    suggestions = {
        "region": sorted(
            set(PremisesGateway.objects.values_list("region", flat=True).distinct()[:200])
        ),
        "gateway_model": sorted(
            set(PremisesGateway.objects.values_list("model", flat=True).distinct()[:200])
        ),
        "device_model": sorted(
            set(HanDevice.objects.exclude(model="").values_list("model", flat=True)[:5000])
        )[:200],
    }
    cache.set("history:suggestions", suggestions, 600)
    return suggestions
