from django.urls import include, path

from marketplace.api import views

urlpatterns = [
    path("labeling-jobs", views.JobListCreateApi.as_view(), name="job-list"),
    path("labeling-jobs/<str:name>", views.JobDetailApi.as_view(), name="job-detail"),
    path("labeling-jobs/<str:name>/stop", views.JobStopApi.as_view(), name="job-stop"),
    path("balance", views.BalanceApi.as_view(), name="balance"),
    path("", include("marketplace.api.offers")),
]
