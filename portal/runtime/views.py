"""The health endpoint."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.runtime.health import health_report


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and CI: 200 when the database, broker, worker and push all answer."""
    report = health_report(check_worker=request.GET.get("worker") == "1")
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
