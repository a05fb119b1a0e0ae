"""The answers every API operation can give whatever the endpoint, added to the OpenAPI schema
(a drf-spectacular postprocessing hook, SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).

An operation's own ``extend_schema(responses=...)`` always wins; this only fills in what the
framework answers by itself, so that the schema documents every status a client can receive
(tests/api/test_schemathesis.py checks it against the running API):

- 401: credentials that are invalid, expired or revoked are refused on every operation, even on
  public data (a bad credential is never ignored); operations that need a signed-in caller also
  answer 401 to anonymous ones;
- 404: the object named in the path does not exist or is hidden from the caller, or the page
  number of a list is beyond its last page;
- 400: a query parameter (a filter, a page number) or a request body that is not valid.
"""

from django.utils.translation import gettext_lazy as _

ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERRORS = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


def _json(schema: dict, description) -> dict:
    return {"content": {"application/json": {"schema": schema}}, "description": str(description)}


def _parameters(operation: dict, where: str) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == where]


def add_common_responses(result, generator, request, public):
    """Document 400/401/404 where the framework can answer them and the view did not say."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {
            "type": "object",
            "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
            "required": ["detail"],
        },
    )
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "401",
                _json(
                    ERROR_REF,
                    _(
                        "Not signed in where that is needed, or the credentials sent (a token, "
                        "a session) are invalid, expired or revoked."
                    ),
                ),
            )
            query = _parameters(operation, "query")
            if _parameters(operation, "path") or "page" in query:
                responses.setdefault(
                    "404",
                    _json(
                        ERROR_REF,
                        _(
                            "No such object, or one the caller may not see; or a page number "
                            "beyond the last page."
                        ),
                    ),
                )
            if query or "requestBody" in operation:
                responses.setdefault(
                    "400",
                    _json(
                        VALIDATION_ERRORS,
                        _(
                            "Invalid input: messages per parameter or field in the request's "
                            'language, e.g. {"campaign": ["Enter a whole number."]}.'
                        ),
                    ),
                )
    return result
