from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.services import webhooks


class StripeWebhookApi(APIView):
    """Stripe's webhook endpoint: a bad signature is 400 and nothing is stored; an event seen
    before is acknowledged and changes nothing."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request) -> Response:
        stored = webhooks.stripe_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
        return Response({"received": True, "duplicate": stored is None})
