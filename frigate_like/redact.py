"""Turns a URL, a header, free text or a config value into something safe to show: the one redaction.

Used wherever such a value leaves the process: ``/api/config``, ``show-config`` and
``check-config`` output, every log record (:class:`RedactingFilter`), the WebSocket's state
message and files written for people to read. What goes:

- a URL's user information: ``rtsp://admin:p@ss@cam/`` → ``rtsp://admin:*****@cam/`` (the
  password may hold ``@``: everything up to the last ``@`` before the host is user info);
  a user name alone (``https://TOKEN@host``) is masked whole;
- credentials in a query string: ``?password=``, ``&pass=``, ``pwd``, ``token``, ``key``,
  ``secret``, ``auth``, ``signature``... (any case, also ``api_key``, ``access_token``);
- HTTP credentials in text (ffmpeg's ``-headers``): ``Authorization: Basic ...``,
  ``Bearer ...``, ``Cookie: ...``; ``password=...`` / ``'password': '...'`` in free text;
- a config value whose key names a secret (``password``, ``api_token``, ``secret``...).
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "*****"

# scheme://userinfo@ — greedy up to the last "@" before the host, which holds no "@", "/" or space
_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#'\"]*)@(?=[^\s@/?#'\"]*(?:[/?#\s'\"]|$))"
)
_SECRET_WORDS = (
    r"pass(?:word|wd)?|pwd|token|access_token|auth_token|api_?key|key|secret|client_secret|auth"
    r"|authorization|credentials?|sig|signature|session|sessionid"
)
_QUERY_SECRET = re.compile(rf"(?P<name>[?&;](?:{_SECRET_WORDS})=)(?P<value>[^&;#\s'\"]*)", re.IGNORECASE)
_HEADER = re.compile(
    r"(?P<name>\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:basic|bearer|digest|token|negotiate)\s+)?)"
    r"(?P<value>[^\s'\",;\\]+)"
    r"|(?P<cookie>\b(?:cookie|x-api-key|x-auth-token)\s*[:=]\s*)(?P<cookie_value>[^'\"\\\r\n]+)"
    r"|(?P<bearer>\bbearer\s+)(?P<bearer_value>[A-Za-z0-9._~+/=-]+)",
    re.IGNORECASE,
)
# key = value / "key": "value" in free text (a dict or a command line in a log message)
_KEY_VALUE = re.compile(
    r"(?P<name>\b(?:password|passwd|pwd|secret|client_secret|api_token|api_key|apikey|access_token)[\"']?"
    r"\s*[:=]\s*[\"']?)(?P<value>[^\s\"',;}&]+)",
    re.IGNORECASE,
)
# config keys whose values are secrets: a key is split into words at "_" and "-"
_SECRET_KEY_WORDS = frozenset(
    {"password", "passwd", "pass", "pwd", "token", "secret", "credential", "credentials", "apikey"}
)


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _ = match.group("userinfo").partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return f"{match.group('scheme')}{shown}@"


def _header(match: re.Match[str]) -> str:
    if match.group("name") is not None:
        return match.group("name") + MASK
    if match.group("cookie") is not None:
        return match.group("cookie") + MASK
    return match.group("bearer") + MASK


def redact_text(text: str) -> str:
    """``text`` with every URL credential, query-string secret and HTTP credential masked."""
    if "://" in text:
        text = _URL_USERINFO.sub(_userinfo, text)
    if "=" in text:
        text = _QUERY_SECRET.sub(lambda m: m.group("name") + MASK, text)
    text = _KEY_VALUE.sub(lambda m: m.group("name") + MASK, text)
    return _HEADER.sub(_header, text)


def is_secret_key(key: str) -> bool:
    """Whether a config key names a secret: ``password``, ``api_token``, ``client-secret``, ``apikey``..."""
    words = set(re.split(r"[_\-\s.]+", key.lower()))
    return bool(words & _SECRET_KEY_WORDS) or key.lower().replace("_", "") in ("apikey", "accesskey")


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like value: secret keys' values masked, every string through :func:`redact_text`."""
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and is_secret_key(k) and value[k] not in (None, "") else redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactingFilter(logging.Filter):
    """Masks a record's message and its exception text before any handler sees them."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:  # formatted here, so the traceback is redacted too
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
