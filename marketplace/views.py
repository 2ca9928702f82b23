import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from marketplace.celery import app as celery_app
from tasks import storage
from workforce.selectors import accounts as workforce

logger = logging.getLogger(__name__)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the Celery broker and object storage answer; 503 otherwise."""
    checks = {}
    for name, check in (
        ("database", _check_database),
        ("broker", _check_broker),
        ("storage", storage.check),
    ):
        try:
            check()
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure makes the service unhealthy
            logger.warning("health check %s failed: %s", name, error)
            checks[name] = f"error: {error.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def home(request: HttpRequest) -> HttpResponse:
    context = {}
    if request.user.is_authenticated:
        context["organization"] = workforce.organization_for(user=request.user)
        context["worker"] = workforce.worker_for(user=request.user)
    return render(request, "home.html", context)
