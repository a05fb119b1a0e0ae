"""The REST API's shared base: pagination and the mapping of domain errors to responses.

DRF's settings import this module while DRF itself loads: import nothing here that imports DRF's
views or generics (the router and the documentation pages live in `api_urls` and `api_docs`).
"""

from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"detail": str(exc.message), "code": exc.code}
        if exc.field:
            # Also in DRF's validation shape, so clients show it next to the field.
            body["field"] = exc.field
            body[exc.field] = [str(exc.message)]
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
