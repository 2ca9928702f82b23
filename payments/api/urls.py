from django.urls import path

from payments.api import webhooks

urlpatterns = [
    path("webhooks/stripe", webhooks.StripeWebhookApi.as_view(), name="stripe-webhook"),
]
