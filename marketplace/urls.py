from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from marketplace import views

api_v1 = [
    path("", include("marketplace.api.urls")),
    path("", include("tasks.api.urls")),
    path("", include("workforce.api.urls")),
    path("", include("payments.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("", include("workforce.urls")),
    path("", include("tasks.urls")),
    path("", include("tasks.vendor_views")),
    path("", include("marketplace.console")),
    path("", include("payments.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
