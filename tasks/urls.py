from django.urls import path

from tasks import views

app_name = "tasks"

urlpatterns = [
    path("work/", views.job_board, name="job-board"),
    path("work/jobs/<int:job_id>/", views.labeling, name="labeling"),
    path("work/history", views.history, name="history"),
    path("work/earnings", views.earnings_page, name="earnings"),
    path("work/earnings/payout", views.earnings_payout, name="earnings-payout"),
    path(
        "work/earnings/payout-account",
        views.earnings_payout_account,
        name="earnings-payout-account",
    ),
    path("work/assignments/<int:pk>/frame", views.custom_frame, name="custom-frame"),
    path("objects/<str:token>", views.object_download, name="object-download"),
]
