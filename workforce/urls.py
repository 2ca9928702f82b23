from django.urls import path

from workforce import views

urlpatterns = [
    path("work/join", views.worker_join, name="worker-join"),
]
