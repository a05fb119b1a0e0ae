"""The REST API's shared base: pagination and the mapping of domain errors to responses.

DRF's settings import this module while DRF itself loads: import nothing here that imports DRF's
views or generics at module level (the router and the documentation pages live in `api_urls` and
`api_docs`; the exception handler is looked up only when the first error is handled).

Errors keep DRF's shapes, with messages in the request's language:

- invalid input (DRF's or a service's Django ``ValidationError``): 400,
  ``{"field": ["message"], "non_field_errors": ["message"]}``;
- a business rule refusing the action (``DomainError``): 400, ``{"detail", "code"}`` and, when
  the rule is about one field, that field's message list as well;
- a stale version or a state the action does not start from (``EditConflict``,
  ``IllegalTransition``): 409 in the same shape, naming who acted last;
- not allowed (``NotAllowed``): 403 ``{"detail", "code"}``. Objects the caller may not even see
  never get this far: views fetch them through the visibility selectors and answer 404.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .errors import DomainError, EditConflict, IllegalTransition, NotAllowed


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def validation_error_body(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError in DRF's shape: messages per field, the rest under
    ``non_field_errors``."""
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: [str(m) for m in exc.messages]}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): [
            str(m) for m in messages
        ]
        for name, messages in exc.message_dict.items()
    }


def domain_error_body(exc: DomainError) -> dict:
    body = {"detail": str(exc.message), "code": exc.code}
    if exc.field:
        # Also in DRF's validation shape, so clients show it next to the field.
        body["field"] = exc.field
        body[exc.field] = [str(exc.message)]
    return body


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(validation_error_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        set_rollback()
        conflict = isinstance(exc, EditConflict | IllegalTransition)
        return Response(
            domain_error_body(exc),
            status=status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, NotAllowed) and exc.args:
        set_rollback()
        return Response(
            {"detail": str(exc.args[0]), "code": "permission_denied"},
            status=status.HTTP_403_FORBIDDEN,
        )
    return drf_exception_handler(exc, context)
