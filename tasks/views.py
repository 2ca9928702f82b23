import mimetypes

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from marketplace import selectors as jobs
from tasks import selectors, storage
from workforce.selectors import accounts as workforce


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
    return render(request, "tasks/labeling.html", {"job": job})


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
