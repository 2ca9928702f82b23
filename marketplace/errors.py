"""One error type for business rules and one error shape for every API response.

Services raise `ApplicationError`; the API turns it, DRF's own exceptions and Django's
ValidationError into `{"code": ..., "detail": ..., "fields": {name: [reason, ...]}}`.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response


class ApplicationError(Exception):
    """A business rule refused the request. `status` is the HTTP status the API answers with;
    `field` names the one input at fault, or `fields` maps several to their reasons."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status
        self.fields = fields if fields is not None else ({field: [message]} if field else {})


def field_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """A serializer's (nested) errors as {"a.b[2].c": [reasons]}, as the API reports them."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF reports a ListField's items by index
                name = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:  # a nested object or list as a whole
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for leaf, reasons in field_errors(value, name).items():
                fields.setdefault(leaf, []).extend(reasons)
    elif isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        for index, value in enumerate(detail):
            if value:
                for leaf, reasons in field_errors(value, f"{prefix}[{index}]").items():
                    fields.setdefault(leaf, []).extend(reasons)
    elif isinstance(detail, list):
        fields[prefix or "non_field_errors"] = [str(d) for d in detail]
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def _body(code: str, detail: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"code": code, "detail": detail, "fields": fields or {}}


def exception_handler(exc, context):
    # Imported here: DRF's views module loads the authentication classes, which use services
    # that import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ApplicationError):
        return Response(_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = (
            {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"non_field_errors": [str(m) for m in exc.messages]}
        )
        return Response(
            _body("invalid", "The request is not valid.", fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = field_errors(exc.detail)
        response.data = _body("invalid", "The request is not valid.", fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = _body(code if isinstance(code, str) else "error", str(detail))
    return response
