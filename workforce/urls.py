from django.urls import include, path

from workforce.views import worker

urlpatterns = [
    path("work/join", worker.worker_join, name="worker-join"),
    path("", include("workforce.views.accounts")),
    path("", include("workforce.views.teams")),
    path("", include("workforce.views.qualifications")),
]
