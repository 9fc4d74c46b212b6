"""HTTP helpers for the API's integration tests: raw requests, MJPEG parts, a bounded schemathesis run."""

from __future__ import annotations

import http.client
import re
from typing import IO, Any

JPEG_END = b"\xff\xd9"

# Attempts to leave the media folders, each put into every path parameter of TEMPLATES.
TRAVERSALS = [
    "..", "%2e%2e", "../../../../etc/passwd", "..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2fetc%2fpasswd", "/etc/passwd", "..%5c..%5cetc%5cpasswd", "....//....//etc/passwd", "%252e%252e%252fsecret.jpg",
    "..%2fsecret.jpg", "..%2ffrigate.db", "..%2f..%2foutside.jpg", "link.jpg", "dirlink.jpg", "demo-..%2fsecret.jpg",
    "%00", "secret.jpg%00.jpg", "..;/secret.jpg",
]  # fmt: skip
TEMPLATES = [
    "/clips/{}", "/clips/{}.mp4", "/api/events/{}", "/api/events/{}/thumbnail.jpg", "/api/events/{}/snapshot.jpg",
    "/api/{}", "/api/{}/latest.jpg", "/api/{}/person/best.jpg", "/api/demo/{}/best.jpg", "/docs/{}",
]  # fmt: skip


def first_jpeg(raw: IO[bytes], limit: int = 4 << 20) -> bytes:
    """Reads one ``multipart/x-mixed-replace`` part from a stream body and returns its JPEG bytes."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = raw.read(1)
        assert chunk, f"stream ended before a part header: {buffer[:200]!r}"
        buffer += chunk
        assert len(buffer) < 4096, "no part header"
    head = buffer.split(b"\r\n\r\n", 1)[0].decode()
    assert "--frame" in head and "Content-Type: image/jpeg" in head, head
    length = int(head.rsplit("Content-Length: ", 1)[1].split()[0])
    assert 0 < length < limit
    body = b""
    while len(body) < length:
        chunk = raw.read(length - len(body))
        assert chunk, "stream ended inside a part"
        body += chunk
    assert body.startswith(b"\xff\xd8") and body.endswith(JPEG_END)
    return body


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET exactly ``path`` (no client-side normalisation of ``..`` or percent-escapes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def run_schemathesis(
    base_url: str,
    *,
    max_examples: int,
    exclude_paths: list[str],
    cross_field: frozenset[str] = frozenset(),
    headers: dict[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """Property-based run over every operation of ``/api/openapi.json``: (failures, the runs done).

    Positive and negative data, schemathesis's default checks (no 5xx, status codes, content
    types, headers and bodies conform to the document, invalid input rejected with 4xx). An
    operation whose parameters cannot be made invalid (none, or free strings) has no negative run.
    Operations in ``cross_field`` (by path) have rules OpenAPI cannot say (an export's end after its
    start, a path inside the allowed roots): a 400 for schema-valid data is accepted there, nowhere else.
    ``headers`` go with every request (``Authorization`` for the operations that change state).
    """
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    for path in exclude_paths:  # by regex: a plain path filter also drops paths its template matches
        schema = schema.exclude(path_regex=f"^{re.escape(path)}$")
    failures: list[str] = []
    runs: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=max_examples,
                deadline=None,
                database=None,  # no .hypothesis folder in the tree
                derandomize=True,  # the same requests on every run
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                lenient = case.operation.path in cross_field
                excluded = [positive_data_acceptance] if lenient else None
                case.call_and_validate(base_url=base_url, headers=headers, timeout=20, excluded_checks=excluded)

            try:
                check()
                runs.append(f"{operation.label} ({mode.value})")
            except Unsatisfiable:
                if mode is schemathesis.GenerationMode.POSITIVE:
                    failures.append(f"{operation.label}: no valid request could be generated")
            except Exception as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures, runs
