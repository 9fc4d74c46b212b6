"""Issue 19, item 5: the one redaction rule against random passwords, query secrets and stream keys.

Each property checks the exact masked form, so a password that happens to look like something
else (``@``, quotes, ``:``, ``/``, ``://``, ``&``, unicode) cannot slip through unnoticed.
"""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from frigate_like.redact import MASK, RedactingFilter, is_secret_query_name, redact_text, redact_value

# a password may hold anything but blanks and control characters (a blank in a URL is %20)
PASSWORD_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="\x85")
PASSWORDS = st.text(PASSWORD_CHARS, min_size=1, max_size=40)
USERS = st.from_regex(r"[A-Za-z0-9._~-]{1,12}", fullmatch=True)
HOSTS = st.sampled_from(["host", "10.0.0.7:554", "[::1]:8554", "cam.example.com"])
PATHS = st.sampled_from(["/x", "/live/ch0", "/", "/Streaming/Channels/101?transport=tcp", ""])
# query values: no blank, and no "&", ";" or "#", which end a value; no "@" (that widens the URL's user info mask)
VALUE_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="&;#@\x85")
VALUES = st.text(VALUE_CHARS, min_size=1, max_size=30)
SECRET_PARTS = ["pass", "pas", "pwd", "pw", "psw", "token", "key", "secret", "auth", "sig", "cred", "session"]
NAME_AFFIXES = st.from_regex(r"[A-Za-z_.-]{0,6}", fullmatch=True)


@st.composite
def secret_names(draw: st.DrawFn) -> str:
    part = draw(st.sampled_from(SECRET_PARTS))
    part = "".join(c.upper() if draw(st.booleans()) else c for c in part)
    return draw(NAME_AFFIXES) + part + draw(NAME_AFFIXES)


@settings(max_examples=500)
@given(user=USERS, password=PASSWORDS, host=HOSTS, path=PATHS, scheme=st.sampled_from(["rtsp", "rtsps", "http"]))
@example(user="admin", password="Q'u@te9", host="host", path="/x", scheme="rtsp")
@example(user="admin", password='Q"u@te9', host="host", path="/x", scheme="rtsp")
@example(user="admin", password="a:b/c@d'e\"f", host="host", path="/x", scheme="rtsp")
@example(user="admin", password="x://y@z", host="host", path="/x", scheme="rtsp")
def test_a_url_password_is_masked_whole_whatever_it_holds(
    user: str, password: str, host: str, path: str, scheme: str
) -> None:
    url = f"{scheme}://{user}:{password}@{host}{path}"
    shown = f"{scheme}://{user}:{MASK}@{host}{path}"
    assert redact_text(url) == shown
    assert redact_text(f"opening {url} now") == f"opening {shown} now"  # free text: a log line
    assert redact_value({"source": url, "inputs": [{"path": url}]}) == {"source": shown, "inputs": [{"path": shown}]}
    # a command line as a list repr, or JSON: escapes and quotes around and inside the URL
    command = redact_text(repr(["ffmpeg", "-i", url, "-f", "null"]))  # repr quotes with " when the URL holds '
    assert command.replace('"', "'") == repr(["ffmpeg", "-i", shown, "-f", "null"])
    assert redact_text(json.dumps({"source": url})) == json.dumps({"source": shown})


@settings(max_examples=300)
@given(password=PASSWORDS.filter(lambda p: ":" not in p), host=HOSTS, path=PATHS)
def test_a_user_name_alone_is_masked_whole(password: str, host: str, path: str) -> None:
    assert redact_text(f"https://{password}@{host}{path}") == f"https://{MASK}@{host}{path}"


def test_an_at_sign_after_the_host_widens_the_mask_never_narrows_it() -> None:
    assert redact_text("rtsp://cam/live?email=me@example.com") == f"rtsp://{MASK}@example.com"
    assert redact_text("rtsp://a:b@h1/x,rtsp://c:d@h2/y") == f"rtsp://a:{MASK}@h2/y"


@settings(max_examples=500)
@given(name=secret_names(), value=VALUES, other=st.from_regex(r"[a-z]{1,8}=[a-z0-9]{1,8}", fullmatch=True))
@example(name="loginpas", value="hunter2", other="ch=1")
@example(name="psw", value="hunter2", other="ch=1")
@example(name="p", value="hunter2", other="ch=1")
@example(name="pass_word", value="Q'u\"te", other="ch=1")
@example(name="PW", value="x", other="ch=1")
def test_a_query_value_whose_name_looks_secret_is_masked(name: str, value: str, other: str) -> None:
    if is_secret_query_name(other.split("=")[0]):
        other = "ch=1"  # the neighbour must not look secret itself
    url = f"rtsp://cam.example.com/live?{other}&{name}={value}&{other}"
    assert redact_text(url) == f"rtsp://cam.example.com/live?{other}&{name}={MASK}&{other}"
    assert redact_text(f"rtsp://h/x?{name}={value}") == f"rtsp://h/x?{name}={MASK}"


@pytest.mark.parametrize("name", ["user", "u", "ch", "channel", "subtype", "transport", "resolution", "fps"])
def test_ordinary_query_names_stay(name: str) -> None:
    assert not is_secret_query_name(name)
    assert redact_text(f"rtsp://h/x?{name}=abc") == f"rtsp://h/x?{name}=abc"


def test_a_secret_value_holding_an_ampersand_is_masked_whole() -> None:
    assert redact_text("rtsp://h/x?password=a&b&c&ch=1") == f"rtsp://h/x?password={MASK}&ch=1"
    assert redact_text("rtsp://h/x?pass%77ord=zz") == f"rtsp://h/x?pass%77ord={MASK}"


@settings(max_examples=300)
@given(
    scheme=st.sampled_from(["rtmp", "rtmps", "RTMP"]),
    app=st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True),
    key=st.from_regex(r"[A-Za-z0-9_.~!$&()*+,=:%/-]{1,48}", fullmatch=True),
)
def test_an_rtmp_stream_key_is_masked(scheme: str, app: str, key: str) -> None:
    url = f"{scheme}://a.rtmp.example.com/{app}/{key}"
    shown = f"{scheme}://a.rtmp.example.com/{app}/{MASK}"
    assert redact_text(url) == shown
    assert redact_text(f"pushing to {url} now") == f"pushing to {shown} now"


@settings(max_examples=200)
@given(user=USERS, password=PASSWORDS)
def test_the_log_filter_masks_messages_and_arguments(user: str, password: str) -> None:
    url = f"rtsp://{user}:{password}@host/x"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "camera %s: opening %r", ("back", url), None)
    RedactingFilter().filter(record)
    shown = record.getMessage().replace('"', "'")  # repr quotes with " when the URL holds '
    assert shown == f"camera back: opening 'rtsp://{user}:{MASK}@host/x'"


@settings(max_examples=200)
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_breaks_the_rule(text: str) -> None:
    shown = redact_text(text)
    assert redact_text(shown) == shown  # masking twice changes nothing more


@settings(max_examples=300)
@given(password=PASSWORDS, key=st.sampled_from(["password", "passwd", "api_token", "secret", "api_key"]))
@example(password="Q'u@te9", key="password")
@example(password='Q"u@te9', key="password")
@example(password="&P=", key="password")  # found by hypothesis: a quoted value that looks like a query parameter
def test_a_secret_in_a_dict_repr_json_or_key_value_text_is_masked(password: str, key: str) -> None:
    for text in (repr({key: password, "host": "h"}), json.dumps({key: password, "host": "h"})):
        shown = redact_text(text)
        assert shown.replace('"', "'") == f"{{'{key}': '{MASK}', 'host': 'h'}}", (text, shown)
    # those end a bare value; a quote would make it a quoted one (masked inside its quotes)
    bare = password.translate({ord(c): None for c in ",;}&\"'"}) or "x"
    assert redact_text(f"login {key}={bare} next") == f"login {key}={MASK} next"
