"""Error answers the routes share, declared on every operation they apply to.

Routers declare the failures particular to them (`responses=` with
`problem_schema`). The ones that follow from the kind of operation are added here,
after FastAPI has built the document, so that no route can forget them and a
schema-driven client or fuzzer can hold the gateway to its document:

- 401 on every operation that takes a bearer token;
- 422 on every operation with parameters or a body, replacing FastAPI's own
  `HTTPValidationError` entry, which is not the problem body the gateway sends;
- 400 and 413 on every operation with a body (malformed, or over the limit).
"""

from typing import Any

from aetherflow_gateway.core.errors import problem_schema

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def declare_problem_responses(document: dict[str, Any]) -> None:
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                _declare_for(operation)

    schemas = document.get("components", {}).get("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)


def _declare_for(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    _replace_fastapi_validation_error(responses)

    if operation.get("security"):
        responses.setdefault("401", problem_schema("Missing, invalid or expired token"))
    if operation.get("parameters") or operation.get("requestBody"):
        responses.setdefault("422", problem_schema("The request has the wrong shape"))
    if operation.get("requestBody"):
        responses.setdefault("400", problem_schema("The body is malformed"))
        responses.setdefault("413", problem_schema("The body is larger than the limit"))


def _replace_fastapi_validation_error(responses: dict[str, Any]) -> None:
    for status, response in list(responses.items()):
        if "HTTPValidationError" in str(response.get("content", "")):
            responses[status] = problem_schema(response.get("description", "Invalid"))
