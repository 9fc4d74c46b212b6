"""``/recordings/``: nginx's autoindex JSON (compared with a real nginx), files with ranges, paths kept inside."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from frigate_like.api import ApiServices, create_app
from frigate_like.config import config_from_dict
from frigate_like.db import queries
from tests.nginx_support import http_temp_paths, running_nginx
from tests.ports import free_port

SEGMENT = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """A recordings tree in Frigate 0.8's layout, plus what must not be served."""
    media = tmp_path / "media"
    hour = media / "recordings" / "2021-08" / "10" / "14"
    for camera in ("back", "front"):
        (hour / camera).mkdir(parents=True)
        for name in ("03.00.mp4", "04.00.mp4", "10.05.mp4"):
            (hour / camera / name).write_bytes(SEGMENT)
    (media / "recordings" / "2021-07" / "31" / "23").mkdir(parents=True)
    (hour / "back" / ".00.00.mp4.partial").write_bytes(b"x")  # hidden: nginx does not list it
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0")
    os.symlink(outside, media / "recordings" / "escape")  # a link out of the folder
    os.symlink(hour / "back" / "03.00.mp4", hour / "front" / "link.mp4")  # a link that stays inside
    stamp = 1_628_604_180  # Tue, 10 Aug 2021 14:03:00 GMT
    for path in (media / "recordings").rglob("*"):
        os.utime(path, (stamp, stamp), follow_symlinks=False)
    return media


@pytest.fixture
def client(media: Path, model_path: Path, labelmap_path: Path) -> Iterator[FlaskClient]:
    cfg = config_from_dict(
        {
            "paths": {"media_dir": str(media)},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
        }
    )
    app = create_app(ApiServices(config=cfg, stats=dict, public_config=dict, events=queries))
    app.testing = True
    with app.test_client() as test_client:
        yield test_client


def nginx_listing(tmp_path: Path, media: Path, paths: list[str]) -> dict[str, Any]:
    """What Frigate 0.8's nginx (autoindex on; autoindex_format json) answers for each path."""
    port = free_port()
    prefix = tmp_path / "nginx"
    conf = f"""
events {{ worker_connections 64; }}
http {{
  access_log off;
  {http_temp_paths(prefix)}
  server {{
    listen 127.0.0.1:{port};
    location /recordings/ {{
      alias {media / "recordings"}/;
      autoindex on;
      autoindex_format json;
    }}
  }}
}}
"""
    answers = {}
    with running_nginx(prefix, conf, [port]):
        for path in paths:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                answers[path] = json.loads(response.read())
    return answers


def test_listing_is_what_nginx_autoindex_json_answers(client: FlaskClient, media: Path, tmp_path: Path) -> None:
    paths = ["/recordings/", "/recordings/2021-08/", "/recordings/2021-08/10/14/", "/recordings/2021-08/10/14/front/"]
    expected = nginx_listing(tmp_path, media, paths)
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "application/json"
        ours = response.get_json()
        # the one difference: a link leading out of the recordings folder is not listed here
        assert ours == [e for e in expected[path] if e["name"] != "escape"], path
    top = client.get("/recordings/").get_json()
    assert [e["name"] for e in top] == ["2021-07", "2021-08"]
    assert top[0] == {"name": "2021-07", "type": "directory", "mtime": "Tue, 10 Aug 2021 14:03:00 GMT"}
    files = client.get("/recordings/2021-08/10/14/back/").get_json()
    assert [(e["name"], e["type"], e["size"]) for e in files] == [
        (name, "file", len(SEGMENT)) for name in ("03.00.mp4", "04.00.mp4", "10.05.mp4")
    ]


def test_files_are_sent_with_ranges(client: FlaskClient) -> None:
    with client.get("/recordings/2021-08/10/14/back/03.00.mp4") as whole:
        assert whole.status_code == 200 and whole.data == SEGMENT and whole.mimetype == "video/mp4"
    with client.get("/recordings/2021-08/10/14/back/03.00.mp4", headers={"Range": "bytes=100-199"}) as part:
        assert part.status_code == 206 and part.data == SEGMENT[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(SEGMENT)}"
    with client.get("/recordings/2021-08/10/14/front/link.mp4") as linked:  # a link that stays inside is served
        assert linked.data == SEGMENT


def test_a_folder_without_its_slash_is_redirected_like_nginx(client: FlaskClient) -> None:
    response = client.get("/recordings/2021-08/10")
    assert response.status_code == 301 and response.headers["Location"].endswith("/recordings/2021-08/10/")


@pytest.mark.parametrize(
    "path",
    [
        "/recordings/escape/passwd",
        "/recordings/escape/",
        "/recordings/../secret/passwd",
        "/recordings/2021-08/../../secret/passwd",
        "/recordings/%2e%2e/secret/passwd",
        "/recordings/2021-08/10/14/back/nope.mp4",
    ],
)
def test_paths_stay_inside_the_recordings_folder(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "detail" in response.get_json()
    assert b"root:x" not in response.data
