"""Base classes shared by every app's API."""

from django.db.models import Model, QuerySet
from rest_framework.generics import ListAPIView


class ScopedListApi(ListAPIView):
    """A list scoped to its caller: the view's permission puts the caller's organisation,
    worker or vendor on the request, and `scoped_queryset()` reads through a selector.

    The OpenAPI schema is built without a caller; it gets an empty queryset of `model`.
    """

    model: type[Model]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.scoped_queryset()

    def scoped_queryset(self) -> QuerySet:
        """The caller's rows; every subclass defines it."""
        return self.model.objects.none()
