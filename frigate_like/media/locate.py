"""The one home that locates a served file or live picture and fetches it from where it is.

Every route that sends a clip, snapshot, thumbnail, recording, ``latest.jpg`` or MJPEG stream
answers through :meth:`MediaLocator.serve`: the local answer first (a file on this node's disk,
or on the shared folder with ``cluster.shared_media``, or a camera this node runs); when that is
``NotFound`` and another node holds it (the row's ``node_id``, or the camera's lease for live
pictures, read through :class:`ClusterDirectory`), the same request is streamed from that node's
``url``: ``Range`` and ``If-*`` headers go there, status (206, 304, ...), ``Content-Range``,
``Content-Length``, ``Content-Type`` and ``Accept-Ranges`` come back, chunk by chunk, never a
whole file in memory. A node that does not answer gives 502 with a detail naming it.

A forwarded request carries :data:`PROXIED_HEADER`: the node it reaches answers from what it has
(404 otherwise) and never forwards again, so two nodes that disagree cannot bounce a request.
It carries ``http.api_token`` as a Bearer header when one is set (every node shares the config),
so it passes the other node's access policy (``api/access.py``) with ``http.auth: required``.

The client is ``requests`` (over urllib3): already pinned for the tests, it streams a body in
bounded chunks (``iter_content``) and keeps a connection pool per session; one session per
worker thread, since a ``Session`` is not documented as thread-safe.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import peewee as pw
import requests
from flask import Response, request
from werkzeug.wrappers.response import Response as AnyResponse

from frigate_like.cluster.directory import ClusterDirectory, NodeInfo
from frigate_like.db import queries
from frigate_like.db.recordings import recording_node, span_nodes
from frigate_like.errors import BadGateway, NotFound, Unavailable

logger = logging.getLogger(__name__)

PROXIED_HEADER = "X-Frigate-Like-Proxied"  # value: the id of the node that forwarded the request
FORWARDED_REQUEST_HEADERS = (
    "Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "Accept",
)  # fmt: skip
RETURNED_HEADERS = (
    "Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified",
    "Content-Encoding", "Cache-Control", "Content-Disposition", "Retry-After", "WWW-Authenticate", "Location",
)  # fmt: skip
CHUNK_BYTES = 64 * 1024  # a chunked response (MJPEG) is relayed per chunk as it arrives, a file in these
CONNECT_TIMEOUT_S = 3.0  # a node that does not accept within this long is down (502)
READ_TIMEOUT_S = 30.0  # between two chunks: an MJPEG stream sends one frame per 1/fps s

R = TypeVar("R", bound=AnyResponse)


@dataclass(frozen=True)
class Owner:
    """Another node that holds what was asked for."""

    node_id: str
    url: str
    alive: bool


class MediaLocator:
    """This node's view of where media is. ``directory`` None: a single node, everything is local."""

    def __init__(
        self,
        node_id: str = "",
        directory: ClusterDirectory | None = None,
        *,
        shared_media: bool = False,
        token: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
    ) -> None:
        self.node_id = node_id
        self.directory = directory
        self.shared_media = shared_media
        self._token = token
        self._timeouts = (connect_timeout, read_timeout)
        self._sessions = threading.local()

    # -- the one entry point of the routes ------------------------------------------------------------
    def serve(self, local: Callable[[], R], owner: Callable[[], Owner | None]) -> R | Response:
        """``local()``; when it raises ``NotFound`` and ``owner()`` names another node, the same request
        from there. A request another node forwarded is answered from here only."""
        try:
            return local()
        except NotFound:
            if self.directory is None or request.headers.get(PROXIED_HEADER):
                raise
            try:
                node = owner()
            except pw.PeeweeException as exc:  # the shared database away: which node holds it is unknown
                raise Unavailable(f"cannot tell which node holds it: the database does not answer ({exc})") from None
            if node is None:
                raise
            return self.forward(node)

    # -- who holds what -------------------------------------------------------------------------------
    def files_of(self, node_id: str | None) -> Owner | None:
        """The node holding the files a row written by ``node_id`` names; None when they are readable
        here (this node, a row from before the cluster, a shared media folder, no row)."""
        if self.directory is None or self.shared_media or not node_id or node_id == self.node_id:
            return None
        info = self.directory.node(node_id)
        if info is None:
            return Owner(node_id, "", alive=False)
        return _owner(info)

    def event_owner(self, event_id: str) -> Owner | None:
        """Who holds an event's files and, while it is in progress, its pictures."""
        if self.directory is None:
            return None
        found = queries.event_nodes([event_id]).get(event_id)
        return self.files_of(found[1]) if found is not None else None

    def clip_owner(self, name: str) -> Owner | None:
        """Who holds ``clips/<camera>-<event id>.mp4|.jpg`` (a camera name may hold dashes: every split tried)."""
        if self.directory is None:
            return None
        stem = name.rsplit(".", 1)[0]
        splits = {stem[i + 1 :]: stem[:i] for i, char in enumerate(stem) if char == "-"}
        for event_id, (camera, node_id) in queries.event_nodes(splits).items():
            if splits[event_id] == camera:
                return self.files_of(node_id)
        return None

    def recording_owner(self, relative: str) -> Owner | None:
        """Who holds ``recordings/<YYYY-MM>/<DD>/<HH>/<camera>/<MM.SS>.mp4``."""
        if self.directory is None:
            return None
        parts = relative.strip("/").split("/")
        if len(parts) != 5:
            return None
        return self.files_of(recording_node(parts[3], relative.strip("/")))

    def export_owner(self, camera: str, start: float, end: float) -> Owner | None:
        """Who holds most of ``camera``'s footage of ``[start, end]`` (an export is cut where its segments are;
        a span recorded on two nodes is cut from the one holding most of it)."""
        if self.directory is None:
            return None
        held = span_nodes(camera, start, end)
        if not held:
            return None
        return self.files_of(max(held, key=lambda node_id: held[node_id]))

    def camera_owner(self, camera: str) -> Owner | None:
        """The node running ``camera`` now (its lease), when that is another node: its live pictures."""
        if self.directory is None:
            return None
        info = self.directory.owner_of(camera)
        if info is None or info.node_id == self.node_id:
            return None
        return _owner(info)

    # -- fetching -------------------------------------------------------------------------------------
    def forward(self, node: Owner) -> Response:
        """The current request (method, path, query, range and cache headers, a change's body) answered by
        ``node``, streamed. The other node applies its own access policy: without ``http.api_token`` it only
        lets loopback clients change anything, so a forwarded change between boxes needs the token."""
        if not node.alive or not node.url:
            why = "no heartbeat" if node.url else "it is not in the cluster"
            raise BadGateway(f"node {node.node_id} ({node.url or 'no url'}) does not answer: {why}")
        headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
        sent = None
        if request.method not in ("GET", "HEAD"):  # a change (a switch): its small JSON body, already bounded
            sent = request.get_data()
            headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        try:
            upstream = self._session().request(
                request.method, self._same_request_at(node.url), headers={**headers, **self._node_headers()},
                data=sent, stream=True, timeout=self._timeouts, allow_redirects=False,
            )  # fmt: skip
        except requests.RequestException as exc:
            raise BadGateway(f"node {node.node_id} ({node.url}) does not answer: {exc}") from None
        returned = {name: upstream.headers[name] for name in RETURNED_HEADERS if name in upstream.headers}
        # the body's bytes as they come (no decoding), so Content-Length and Content-Range hold
        body = _Relay(upstream, node)
        return Response(body, status=upstream.status_code, headers=returned, direct_passthrough=True)

    def answers_elsewhere(self) -> list[Any]:
        """The JSON answers of every other alive node to the current GET, each from what that node holds
        alone (a ``/recordings/`` folder's entries, its cameras' switches), for a view that merges them.
        A node that does not answer is left out (its files would be a 502 anyway)."""
        if self.directory is None or self.shared_media or request.headers.get(PROXIED_HEADER):
            return []
        found: list[Any] = []
        for info in self.directory.nodes():
            if not info.alive or not info.url or info.node_id == self.node_id:
                continue
            try:
                response = self._session().get(
                    self._same_request_at(info.url), headers=self._node_headers(), timeout=self._timeouts,
                    allow_redirects=False,
                )  # fmt: skip
                body = response.json() if response.status_code == 200 else None
            except (requests.RequestException, ValueError) as exc:
                logger.warning("node %s (%s) did not answer %s: %s", info.node_id, info.url, request.path, exc)
                continue
            if body is not None:
                found.append(body)
        return found

    def _same_request_at(self, base_url: str) -> str:
        url = base_url.rstrip("/") + request.path
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        return url

    def _node_headers(self) -> dict[str, str]:
        """What marks a request as one node's to another and lets it through the other's access policy."""
        headers = {PROXIED_HEADER: self.node_id or "-"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._sessions, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Accept-Encoding"] = "identity"  # bytes as stored: Range and Content-Length hold
            self._sessions.session = session
        return session


def _owner(info: NodeInfo) -> Owner:
    return Owner(info.node_id, info.url, info.alive)


class _Relay:
    """The upstream body in chunks; ``close()`` (called by the server when the client leaves, even before
    the first chunk) closes the upstream connection, which ends the other node's stream too."""

    def __init__(self, upstream: requests.Response, node: Owner) -> None:
        self._upstream = upstream
        self._node = node
        self._chunks: Iterator[bytes] = upstream.raw.stream(CHUNK_BYTES, decode_content=False)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except Exception as exc:  # the node went away mid-body: the client sees a cut-short response
            logger.warning("relay from node %s (%s) broke off: %s", self._node.node_id, self._node.url, exc)
            self.close()
            raise StopIteration from None

    def close(self) -> None:
        self._upstream.close()
