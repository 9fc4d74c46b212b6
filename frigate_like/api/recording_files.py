"""``/recordings/...``: the recordings folder as Frigate 0.8's nginx served it.

A folder answers nginx's ``autoindex_format json`` listing (Home Assistant's media browser
walks ``YYYY-MM/DD/HH/<camera>/`` with it); a file is sent with range requests so a player
can seek. Requested paths and listed entries stay inside the recordings folder.
"""

from __future__ import annotations

import stat
from email.utils import formatdate
from pathlib import Path
from typing import Any

from flask import jsonify, redirect, request, send_file
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field
from werkzeug.wrappers.response import Response

from frigate_like.api.openapi import binary, errors
from frigate_like.api.openapi_models import Autoindex
from frigate_like.api.params import PathModel
from frigate_like.api.service import ApiServices, required
from frigate_like.errors import NotFound
from frigate_like.files import resolve_inside, resolves_within


def listing(folder: Path, root: Path) -> list[dict[str, Any]]:
    """nginx's autoindex entries of ``folder``: folders first, then by name (byte order); hidden
    names left out, like nginx; links followed, and left out when they lead outside ``root``."""
    entries: list[tuple[bool, bytes, dict[str, Any]]] = []
    for path in folder.iterdir():
        if path.name.startswith(".") or not resolves_within(path, root):
            continue
        try:
            info = path.stat()
        except FileNotFoundError:  # deleted meanwhile (retention)
            continue
        is_dir = stat.S_ISDIR(info.st_mode)
        kind = "directory" if is_dir else "file" if stat.S_ISREG(info.st_mode) else "other"
        entry: dict[str, Any] = {"name": path.name, "type": kind, "mtime": formatdate(info.st_mtime, usegmt=True)}
        if kind == "file":
            entry["size"] = info.st_size
        entries.append((not is_dir, path.name.encode(), entry))
    return [entry for _, _, entry in sorted(entries, key=lambda e: (e[0], e[1]))]


def merged_listing(own: list[dict[str, Any]], others: list[Any]) -> list[dict[str, Any]]:
    """This node's entries plus those of other nodes not listed yet (a folder every node has is listed once),
    in nginx's order: folders first, then by name."""
    by_name = {entry["name"]: entry for entry in own}
    for entries in others:
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                by_name.setdefault(entry["name"], entry)
    return sorted(by_name.values(), key=lambda e: (e.get("type") != "directory", e["name"].encode()))


def listing_response(entries: list[dict[str, Any]]) -> Response:
    response = jsonify(entries)
    response.headers["Cache-Control"] = "no-store"
    return response


class FolderPath(PathModel):
    sub: str = Field(description="a path below the recordings folder, e.g. 2021-08/10/14/back/03.00.mp4")


LISTING_OR_FILE = {
    "description": "a folder (the path ends in /): its nginx autoindex json, folders first; else the file",
    "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{Autoindex.__name__}"}},
        "video/mp4": {"schema": {"type": "string", "format": "binary"}},
    },
}


def recording_files_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("recording_files", __name__, abp_tags=[Tag(name="recordings")])

    def root() -> Path:
        return Path(required(services.config, "the config").paths.media_dir) / "recordings"

    @bp.get(
        "/recordings/",
        responses={200: Autoindex, **errors(404)},
        description="Folders YYYY-MM/DD/HH/<camera>/ hold MM.SS.mp4 segments (UTC), as in Frigate 0.8.",
    )
    def top() -> Response:
        """The recordings folder"""
        return served("")

    @bp.get(
        "/recordings/<path:sub>",
        responses={
            200: LISTING_OR_FILE,
            206: binary("video/mp4", "the requested byte range"),
            301: {"description": "a folder asked without its trailing slash"},
            **errors(404, 416, 502),
        },
    )
    def below(path: FolderPath) -> Response:
        """A folder of recordings (path ending in /) or one segment file"""
        return served(path.sub)

    def served(sub: str) -> Response:
        # in a cluster (media/locate.py) a segment another node wrote comes from there, and a folder lists the
        # entries of every node
        return services.locator.serve(lambda: local(sub), lambda: services.locator.recording_owner(sub))

    def local(sub: str) -> Response:
        base = root()
        try:
            if not base.is_dir():
                raise NotFound("no recordings yet")
            path = resolve_inside(base, sub.lstrip("/") or ".", what="file or folder", folders=True)
        except NotFound:
            elsewhere = services.locator.answers_elsewhere() if request.path.endswith("/") else []
            if not elsewhere:
                raise
            return listing_response(merged_listing([], elsewhere))  # a folder only other nodes have
        if path.is_dir():
            if not request.path.endswith("/"):  # as nginx: a folder's address ends with a slash
                return redirect(request.path + "/", code=301)
            return listing_response(merged_listing(listing(path, base), services.locator.answers_elsewhere()))
        if not path.is_file():
            raise NotFound(f"no such file: {sub!r}")
        try:
            # conditional: Range (206), If-Range, ETag and Last-Modified, so a player can seek
            return send_file(path, conditional=True, max_age=0)
        except OSError:  # removed (retention) between the check and the open
            raise NotFound(f"no such file: {sub!r}") from None

    return bp
