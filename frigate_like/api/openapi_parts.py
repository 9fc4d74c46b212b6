"""Small builders for the OpenAPI document: parameters, responses, operations."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def path(name: str, description: str, example: str | None = None) -> Schema:
    param: Schema = {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }
    if example is not None:
        param["example"] = example
    return param


def json_response(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def binary(media_type: str, description: str) -> Schema:
    return {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}


def text(description: str) -> Schema:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def errors(*codes: int) -> dict[str, Schema]:
    words = {
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
    answers = {str(code): json_response(ref("Error"), words[code]) for code in codes}
    if 429 in codes:
        answers["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    return answers


def get(
    summary: str,
    responses: dict[str, Schema],
    parameters: list[Schema] | None = None,
    description: str = "",
    tag: str = "system",
) -> Schema:
    operation: Schema = {"summary": summary, "tags": [tag], "responses": responses}
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def operation(
    method: str,
    summary: str,
    responses: dict[str, Schema],
    parameters: list[Schema] | None = None,
    tag: str = "system",
    body: Schema | None = None,
) -> Schema:
    """One operation of any method (``get``/``post`` cover the usual cases)."""
    op: Schema = {"summary": summary, "tags": [tag], "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": False, "content": {JSON: {"schema": body}}}
    return {method: op}


def post(summary: str, responses: dict[str, Schema], body: Schema | None = None, tag: str = "system") -> Schema:
    return operation("post", summary, responses, tag=tag, body=body)


# How the token may come (api/access.py); never in a query string.
SECURITY_SCHEMES: Schema = {
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
TOKEN_OR_LOOPBACK: list[Schema] = [{"bearerAuth": []}, {"cookieAuth": []}, {}]


def state_change(item: Schema, *, login: bool = False) -> Schema:
    """A path item whose operation changes state: the token or loopback, same origin, and a JSON body type
    unless it is a plain GET (api/access.py)."""
    for method, op in item.items():
        if not login:
            op["security"] = TOKEN_OR_LOOPBACK
            op["responses"].update(errors(401, 429))  # 429: a wrong Bearer token costs what a wrong login costs
        body_type = () if method == "get" else (415,)
        op["responses"].update(errors(403, *body_type, *((413,) if "requestBody" in op else ())))
    return item
