"""The OpenAPI document, generated: flask-openapi3 reads each route's declaration (its path, query and body
models, its answers in api/openapi_models.py); this module adds what is the same for every route.

- the words of each error status, and ``Retry-After`` on a 429;
- what api/access.py asks of a state change, read from the view's access kind (``changes_state``,
  ``only_reads``, or its method): the token schemes, and the 401/403/413/415/429 answers of its guards;
- a camera and label of the running config as examples, so "Try it out" on /docs works as it opens.

``tests/test_openapi.py`` checks that every route is in the document and every documented path is served.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from flask_openapi3 import Info, OpenAPI
from flask_openapi3.types import ResponseDict
from werkzeug.exceptions import HTTPException

from frigate_like import __version__
from frigate_like.api.openapi_models import ApiError
from frigate_like.api.params import bad_request

Document = dict[str, Any]

DESCRIPTION = (
    'Frigate 0.8\'s HTTP API. Errors are JSON {"detail": ...}. Reads are open unless http.auth is required; '
    "operations with a security requirement change state and need the token (or, when no token is configured, "
    "a loopback client), Content-Type: application/json unless the token came, and a same-origin or absent "
    "Origin. Every request's Host must name this server."
)

# How the token may come (api/access.py); never in a query string.
SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <http.api_token>"},
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "frigate_like_token",
        "description": "HttpOnly, SameSite=Strict; a session id set by POST /api/login (browsers: <img>, <video>, "
        "WebSocket), revoked by POST /api/logout; a restart logs everyone out",
    },
}
# the token as a header or the cookie, or nothing: a loopback client when no token is configured
TOKEN_OR_LOOPBACK: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"cookieAuth": []}, {}]

ERROR_WORDS = {
    400: "a parameter is invalid",
    401: "the API token is required (or, when none is configured, a loopback client)",
    403: "a foreign Host or Origin, or (a state change) a request from another page",
    404: "not found",
    409: "conflicts with the current state",
    413: "the body is over http.max_body_bytes",
    415: "a state change needs Content-Type: application/json (or the token as a Bearer header)",
    416: "the range cannot be satisfied",
    429: "too many wrong tokens from this address: wait the Retry-After header's seconds (doubling, at most 60)",
    502: "the node of the cluster that holds it does not answer (the detail names it)",
    503: "not available right now; retry later",
}


def errors(*codes: int) -> ResponseDict:
    """A route's error answers: JSON ``{"detail": ...}`` (worded by :data:`ERROR_WORDS` in the document)."""
    return {code: ApiError for code in codes}


def binary(media_type: str, description: str) -> dict[str, Any]:
    """A non-JSON answer (a picture, a video): flask-openapi3 takes these as OpenAPI response objects."""
    return {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}


def text(description: str, media_type: str = "text/plain") -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def new_app(import_name: str) -> OpenAPI:
    """A Flask app whose routes' models validate requests (a 400 naming the parameter) and make the document."""
    return OpenAPI(
        import_name,
        info=Info(title="frigate-like HTTP API", version=__version__, description=DESCRIPTION),
        security_schemes=SECURITY_SCHEMES,
        doc_ui=False,  # /api/openapi.json and /docs are api/docs.py's: the page's files come from the package
        validation_error_status=400,
        validation_error_model=ApiError,
        validation_error_callback=bad_request,
        static_folder=None,  # every file served goes through files.resolve_inside
    )


# -- the finished document -------------------------------------------------------------------------
def _access_kind(app: OpenAPI, path: str, method: str) -> str:
    """What api/access.py makes of the route: its view's mark, else read for GET and write for the rest."""
    url = re.sub(r"\{[^}]+\}", "x", path)
    try:
        endpoint, _ = app.url_map.bind("localhost").match(url, method=method.upper())
    except HTTPException:
        return "read" if method == "get" else "write"
    return str(getattr(app.view_functions.get(endpoint), "access_kind", "read" if method == "get" else "write"))


def _error(code: int) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ApiError.__name__}"}
    answer: dict[str, Any] = {"description": ERROR_WORDS[code], "content": {"application/json": {"schema": schema}}}
    if code == 429:
        answer["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    return answer


def _finish_operation(operation: dict[str, Any], method: str, kind: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
    generic = responses.get("400", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if generic.get("type") == "array":  # flask-openapi3's own 400, added to every operation
        del responses["400"]
        if takes_input:
            responses["400"] = {}
    codes = [int(code) for code in responses if code.isdigit() and int(code) in ERROR_WORDS]
    if kind == "write":
        operation["security"] = TOKEN_OR_LOOPBACK
        codes += [401, 429]  # 429: a wrong Bearer token costs what a wrong login costs
    if kind != "read":
        codes.append(403)
        if method != "get":  # a state-changing GET is a plain GET (seed 000): no body type asked for
            codes.append(415)
        if "requestBody" in operation:
            codes.append(413)
    for code in sorted(set(codes)):
        responses[str(code)] = _error(code)


def _describe_answers(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A JSON answer's description is its model's docstring, where flask-openapi3 wrote only "OK"."""
    for answer in operation["responses"].values():
        ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        described = schemas.get(ref.rsplit("/", 1)[-1], {}).get("description")
        if answer.get("description") == "OK" and described:
            answer["description"] = described


def _set_examples(operation: dict[str, Any], examples: dict[str, str]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["name"] in examples:
            parameter["example"] = examples[parameter["name"]]


def openapi_document(app: OpenAPI, example_camera: str | None, example_label: str | None) -> Document:
    """The whole document; ``example_*`` give the interactive page working defaults."""
    document = copy.deepcopy(app.api_doc)
    examples = {"camera_name": example_camera, "camera": example_camera, "label": example_label}
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            _finish_operation(operation, method, _access_kind(app, path, method))
            _describe_answers(operation, schemas)
            _set_examples(operation, {name: value for name, value in examples.items() if value is not None})
    return document
