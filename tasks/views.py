import mimetypes

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from marketplace import selectors as jobs
from marketplace.models import Job
from tasks import answers, selectors, storage, templating
from tasks.manifests import input as manifest_input
from workforce.selectors import accounts as workforce

HISTORY_PER_PAGE = 50


@login_required
def job_board(request: HttpRequest) -> HttpResponse:
    worker = workforce.worker_for(user=request.user)
    if worker is None:
        return redirect("worker-join")
    jobs = selectors.job_board_for(worker=worker)
    return render(request, "tasks/job_board.html", {"jobs": jobs})


@login_required
def labeling(request: HttpRequest, job_id: int) -> HttpResponse:
    """The labeling page; the task itself is claimed and submitted through the API."""
    worker = workforce.worker_for(user=request.user)
    if worker is None:
        return redirect("worker-join")
    job = jobs.job_get_eligible_for(worker=worker, pk=job_id)
    context = {
        "job": job,
        "is_custom": job.task_type == Job.TaskType.CUSTOM,
        "is_text": job.task_type in manifest_input.TEXT_TASK_TYPES,
        "is_multilabel": answers.is_multilabel(job.task_type),
    }
    return render(request, "tasks/labeling.html", context)


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """The worker's answered tasks, newest first, with how each was reviewed."""
    worker = workforce.worker_for(user=request.user)
    if worker is None:
        return redirect("worker-join")
    paginator = Paginator(selectors.assignment_list_for_worker(worker=worker), HISTORY_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "tasks/history.html", {"page": page})


@login_required
@require_GET
@xframe_options_sameorigin
def custom_frame(request: HttpRequest, pk: int) -> HttpResponse:
    """A custom task's page, for the labeling page's sandboxed frame: only the worker holding
    the lease can load it, and only while the lease runs."""
    worker = workforce.worker_for(user=request.user)
    if worker is None:
        raise Http404("No such task.")
    assignment = selectors.assignment_get_for_worker(worker=worker, pk=pk)
    if assignment.job.task_type != Job.TaskType.CUSTOM or not templating.lease_is_live(assignment):
        raise Http404("No such task.")
    script_url = request.build_absolute_uri(static("tasks/crowd-elements.js"))
    response = render(
        request,
        "tasks/custom_frame.html",
        {"page": templating.render_task_page(assignment=assignment), "script_url": script_url},
    )
    response["Content-Security-Policy"] = templating.frame_content_security_policy(
        script_url=script_url, site_origin=request.build_absolute_uri("/").rstrip("/")
    )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def object_download(request: HttpRequest, token: str) -> FileResponse:
    """Serve an object of local storage behind a signed, expiring URL (as S3 presigns one)."""
    path = storage.local_path_for_token(token)
    if path is None or not path.is_file():
        raise Http404("This link is not valid or has expired.")
    content_type, _ = mimetypes.guess_type(path.name)
    response = FileResponse(
        path.open("rb"), content_type=content_type or "application/octet-stream"
    )
    response["Cache-Control"] = "private, max-age=60"
    return response
