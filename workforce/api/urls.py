from django.urls import include, path

urlpatterns = [
    path("", include("workforce.api.accounts")),
    path("", include("workforce.api.blocks")),
    path("", include("workforce.api.hooks")),
    path("", include("workforce.api.teams")),
    path("", include("workforce.api.vendors")),
    path("", include("workforce.api.qualifications")),
    path("", include("workforce.api.skills")),
]
