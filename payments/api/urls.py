from django.urls import path

from payments.api import finance, top_ups, webhooks

urlpatterns = [
    path("webhooks/stripe", webhooks.StripeWebhookApi.as_view(), name="stripe-webhook"),
    path("top-ups", top_ups.TopUpListCreateApi.as_view(), name="top-ups"),
    *finance.urlpatterns,
]
