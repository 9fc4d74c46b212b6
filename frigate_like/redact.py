"""Turns a URL, a header, free text or a config value into something safe to show: the one redaction.

Used wherever such a value leaves the process: ``/api/config``, ``show-config`` and
``check-config`` output, every log record (:class:`RedactingFilter`), the WebSocket's state
message and files written for people to read. What goes:

- a URL's user information, whatever characters the password holds (quotes, ``@``, ``:``,
  ``/``...): everything from ``scheme://`` to the last ``@`` of the same run of non-blank text is
  user info, so ``rtsp://admin:Q'u@te9@cam/`` → ``rtsp://admin:*****@cam/``; a user name alone
  (``https://TOKEN@host``) is masked whole. (An ``@`` later in the path or query, or another
  URL's, widens the mask: more hidden, never less. A blank ends the URL in free text: a blank in
  a URL is percent-encoded.)
- a query value whose name looks like a secret (:func:`is_secret_query_name`): a name that
  holds ``pas``, ``pw``, ``psw``, ``token``, ``key``, ``secret``, ``auth``, ``sig``, ``cred``
  or ``session`` (any case, percent-decoded: ``password``, ``loginpas``, ``pass_word``,
  ``api_key``, ``X-Amz-Signature``...), or is exactly ``p``. User names (``user``, ``u``)
  are not secrets and stay. The value runs to the next ``&name=``/``;name=``, ``#`` or blank,
  so a password holding ``&`` is masked whole;
- an RTMP(S) stream key: ``rtmp://host/app/<key>`` → ``rtmp://host/app/*****`` (everything in
  the path after the application);
- HTTP credentials in text (ffmpeg's ``-headers``): ``Authorization: Basic ...``,
  ``Bearer ...``, ``Cookie: ...``; ``password=...`` / ``'password': '...'`` in free text;
- a config value whose key names a secret (``password``, ``api_token``, ``secret``...).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote

MASK = "*****"

# scheme:// — its user info runs to the last "@" of the run of non-blank text (see _mask_userinfo)
_SCHEME = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,31}://")  # bounded: no quadratic scan of a long word
_BLANK = re.compile(r"\s")
# a query parameter: its name, then a value up to the next parameter ("&name=" or ";name="), "#" or a blank
_QUERY_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&;#?\s]+)=(?P<value>(?:[^&;#\s]|[&;](?![^=&;#?\s]*=))*)")
_SECRET_QUERY_PARTS = ("pas", "pw", "psw", "token", "key", "secret", "auth", "sig", "cred", "session")
_SECRET_QUERY_NAMES = frozenset({"p"})
# rtmp(s)://host/app/<stream key>: the key is the rest of the path
_RTMP_KEY = re.compile(r"(?P<app>\brtmps?://[^\s/?#]+/[^\s/?#]+/)(?P<key>[^\s?#'\"]+)", re.IGNORECASE)
_HEADER = re.compile(
    r"(?P<name>\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:basic|bearer|digest|token|negotiate)\s+)?)"
    r"(?P<value>[^\s'\",;\\]+)"
    r"|(?P<cookie>\b(?:cookie|x-api-key|x-auth-token)\s*[:=]\s*)(?P<cookie_value>[^'\"\\\r\n]+)"
    r"|(?P<bearer>\bbearer\s+)(?P<bearer_value>[A-Za-z0-9._~+/=-]+)",
    re.IGNORECASE,
)
# key = value / "key": "value" in free text (a dict or a command line in a log message)
# A quoted value runs to its closing quote (escapes skipped: a repr or JSON of a password holding quotes),
# a bare (or unterminated) one to a blank, "," ";" "}" or "&" (quotes inside it are part of it).
_KEY_NAME = (
    r"(?P<name>\b(?:password|passwd|pwd|secret|client_secret|api_token|api_key|apikey|access_token)[\"']?"
    r"\s*[:=]\s*)"
)
_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
_KEY_VALUE = re.compile(_KEY_NAME + r"(?P<value>" + _QUOTED + r"|[^\s,;}&]+)", re.IGNORECASE)
# quoted values alone, masked before the query rule: a quoted password holding "&p=" is not a query parameter
_KEY_QUOTED = re.compile(_KEY_NAME + r"(?P<value>" + _QUOTED + r")", re.IGNORECASE)
# config keys whose values are secrets: a key is split into words at "_" and "-"
_SECRET_KEY_WORDS = frozenset(
    {"password", "passwd", "pass", "pwd", "token", "secret", "credential", "credentials", "apikey"}
)


def _mask_userinfo(text: str) -> str:
    """Every ``scheme://user:password@`` with the password (or a lone user name) masked; linear in ``text``."""
    parts: list[str] = []
    done = 0
    scheme = _SCHEME.search(text)
    while scheme is not None:
        blank = _BLANK.search(text, scheme.end())
        run_end = blank.start() if blank is not None else len(text)
        at = text.rfind("@", scheme.end(), run_end)
        if at >= 0:  # no other user info can follow in this run: its last "@" is taken
            user, colon, _ = text[scheme.end() : at].partition(":")
            parts += [text[done : scheme.end()], f"{user}:{MASK}" if colon else MASK]
            done = at
        scheme = _SCHEME.search(text, run_end)
    return "".join(parts) + text[done:]


def is_secret_query_name(name: str) -> bool:
    """Whether a query parameter's name looks like it carries a secret (see the module text)."""
    lowered = unquote(name).lower()
    return lowered in _SECRET_QUERY_NAMES or any(part in lowered for part in _SECRET_QUERY_PARTS)


def _query_param(match: re.Match[str]) -> str:
    if not match.group("value") or not is_secret_query_name(match.group("name")):
        return match.group(0)
    return f"{match.group('sep')}{match.group('name')}={MASK}"


def _key_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quoted = len(value) > 1 and value[0] in "\"'" and value[-1] == value[0]
    return match.group("name") + (f"{value[0]}{MASK}{value[0]}" if quoted else MASK)


def _header(match: re.Match[str]) -> str:
    if match.group("name") is not None:
        return match.group("name") + MASK
    if match.group("cookie") is not None:
        return match.group("cookie") + MASK
    return match.group("bearer") + MASK


def redact_text(text: str) -> str:
    """``text`` with every URL credential, query-string secret and HTTP credential masked."""
    if "://" in text:
        text = _mask_userinfo(text)
        text = _RTMP_KEY.sub(lambda m: m.group("app") + MASK, text)
    text = _KEY_QUOTED.sub(_key_value, text)
    if "=" in text:
        text = _QUERY_PARAM.sub(_query_param, text)
    text = _KEY_VALUE.sub(_key_value, text)
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
