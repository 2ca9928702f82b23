"""Every error leaves the API in one shape: {"code", "detail", "fields"}."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions

from marketplace.errors import ApplicationError, exception_handler


def handle(error):
    response = exception_handler(error, {})
    return response.status_code, response.data


def test_application_errors_keep_their_code_field_and_status():
    assert handle(ApplicationError("lease_ended", "Too late.", status=409)) == (
        409,
        {"code": "lease_ended", "detail": "Too late.", "fields": {}},
    )
    assert handle(ApplicationError("name_taken", "Taken.", field="name")) == (
        400,
        {"code": "name_taken", "detail": "Taken.", "fields": {"name": ["Taken."]}},
    )


def test_django_validation_errors_name_their_fields():
    by_field = DjangoValidationError({"email": ["Enter a valid email address."]})
    general = DjangoValidationError("Something is off.")

    assert handle(by_field) == (
        400,
        {
            "code": "invalid",
            "detail": "The request is not valid.",
            "fields": {"email": ["Enter a valid email address."]},
        },
    )
    assert handle(general)[1]["fields"] == {"non_field_errors": ["Something is off."]}


def test_nested_drf_errors_are_named_by_their_path():
    error = exceptions.ValidationError(
        {"instructions": {"short": ["Too long."]}, "keywords": {1: ["Too long."]}}
    )

    assert handle(error)[1]["fields"] == {
        "instructions.short": ["Too long."],
        "keywords[1]": ["Too long."],
    }


def test_django_404_and_403_take_the_api_shape():
    assert handle(Http404("x")) == (
        404,
        {"code": "not_found", "detail": "Not found.", "fields": {}},
    )
    assert handle(PermissionDenied()) == (
        403,
        {
            "code": "permission_denied",
            "detail": "You do not have permission to perform this action.",
            "fields": {},
        },
    )
