from django.urls import include, path

from tasks.api import views

urlpatterns = [
    path("worker/jobs", views.JobBoardApi.as_view(), name="worker-job-board"),
    path(
        "worker/jobs/<int:job_id>/assignments",
        views.AssignmentClaimApi.as_view(),
        name="worker-claim",
    ),
    path(
        "worker/assignments/<int:pk>",
        views.WorkerAssignmentDetailApi.as_view(),
        name="worker-assignment",
    ),
    path(
        "worker/assignments/<int:pk>/submit",
        views.AssignmentSubmitApi.as_view(),
        name="worker-submit",
    ),
    path(
        "worker/assignments/<int:pk>/decline",
        views.AssignmentDeclineApi.as_view(),
        name="worker-decline",
    ),
    path(
        "worker/assignments/<int:pk>/release",
        views.AssignmentReleaseApi.as_view(),
        name="worker-release",
    ),
    path("", include("tasks.api.review")),
    path("", include("tasks.api.vendor")),
    path("", include("tasks.api.earnings")),
    path("", include("tasks.api.manifests")),
]
