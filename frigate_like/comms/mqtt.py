"""The MQTT channel (paho-mqtt 2): availability with a last will, reconnects with backoff, a bounded outbox.

One thread of ours (``mqtt-sender``) hands every message to paho in the order it was
published, and only while the connection is up; paho's own network thread
(``loop_start``) connects, reconnects with backoff and calls the callbacks below.

- Retained messages (switch states, snapshots) are also kept by topic and sent again
  after every reconnect, so a broker that lost them gets them back.
- Other messages produced while the broker is away wait in a bounded ``Outbox``
  (paho's own queue is unbounded); past the bound the oldest are dropped and counted.
- At the first connection the retained ``<camera>/<switch>/state`` values are read
  back (handed to the receivers) before anything of ours is sent, so a switch set
  before a restart survives it.
- The link's state goes to a ``Health`` handle (``service.health.mqtt`` in the stats):
  not ok with the reason while the broker is unreachable, refuses us or dropped us, ok
  once the connection is live again; its backlog is the outbox.

In a cluster (``node_id`` given) every node is one Frigate on one ``topic_prefix``: each publishes
only the topics of the cameras it runs (the registry adds them; a camera moved away is forgotten,
:meth:`MqttClient.forget_retained`), under its own client id (``<client_id>-<node_id>``: the broker
drops a client whose id connects again). ``<prefix>/available`` is ``online`` while any node is
up: each node publishes it on connecting and keeps the last will ``offline`` on it (so the last
node dying turns it off), watches it, and re-asserts ``online`` when a dying node's will turned it
off; a node stopping cleanly sends ``offline`` there only when no other node is alive
(``others_alive``). A second small connection holds ``<prefix>/node/<node_id>/available``, with
its own will (one will per connection). The switch states stay subscribed, so the receivers learn
the states of cameras run elsewhere (and take them over when a camera moves here).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from frigate_like.comms import topics
from frigate_like.comms.publisher import Payload, Receiver
from frigate_like.config.sections import MqttConfig
from frigate_like.supervise import Health

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 1000  # messages kept while the broker is away (~1 KB each for events)
QOS = 1  # at least once: paho re-sends what was in flight when the connection dropped
MIN_RECONNECT_DELAY = 1  # seconds; doubles after each failed try ...
MAX_RECONNECT_DELAY = 10  # ... up to this
KEEPALIVE = 30  # seconds; a silent broker is noticed after 1.5 × this
ONLINE = "online"
OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Message:
    topic: str  # relative to topic_prefix
    payload: bytes
    retain: bool


class Outbox:
    """Messages waiting to be sent, oldest first; when full, the oldest is dropped and counted."""

    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        if limit < 1:
            raise ValueError("the outbox needs room for at least one message")
        self.limit = limit
        self._items: deque[Message] = deque()
        self.dropped = 0  # since the last take_dropped()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, message: Message) -> bool:
        """Appends ``message``; returns True when the oldest message had to be dropped for it."""
        dropped = len(self._items) >= self.limit
        if dropped:
            self._items.popleft()
            self.dropped += 1
        self._items.append(message)
        return dropped

    def pop(self) -> Message | None:
        return self._items.popleft() if self._items else None

    def take_dropped(self) -> int:
        count, self.dropped = self.dropped, 0
        return count


class MqttClient:
    """A ``Publisher`` on an MQTT broker; never raises for a broker that is away, it keeps trying."""

    def __init__(
        self,
        cfg: MqttConfig,
        *,
        outbox_limit: int = OUTBOX_LIMIT,
        min_delay: int = MIN_RECONNECT_DELAY,
        max_delay: int = MAX_RECONNECT_DELAY,
        keepalive: int = KEEPALIVE,
        health: Health | None = None,
        node_id: str | None = None,
        others_alive: Callable[[], bool] | None = None,
    ) -> None:
        """``node_id``: this daemon is that node of a cluster (see above); ``others_alive``: whether another
        node is alive now (ClusterDirectory), asked when stopping cleanly."""
        self._cfg = cfg
        self._health = health
        self._prefix = cfg.topic_prefix
        self._node_id = node_id
        self._others_alive = others_alive
        self._client_id = cfg.client_id if node_id is None else f"{cfg.client_id}-{node_id}"
        self._presence: mqtt.Client | None = None  # cluster: the node's own availability topic and its will
        self._delays = (min_delay, max_delay)
        self._keepalive = keepalive
        self._receivers: list[Receiver] = []
        self._client: mqtt.Client | None = None
        self._cond = threading.Condition()
        self._outbox = Outbox(outbox_limit)  # guarded by _cond, as are the flags below
        self._retained: dict[str, bytes] = {}
        self._link_up = False  # CONNACK accepted and not disconnected since
        self._live = False  # link up and subscribed (and, the first time, the states read back)
        self._resend_retained = False
        self._closing = False
        self._drops_logged = False
        self._waited = False  # the broker was away for a while (not just not yet connected)
        self._restored = False  # the retained switch states were read back once (only paho's thread)
        self._sync_mid: int | None = None
        self._state = "init"  # what was last logged: init, connected, down, refused:<reason>
        self._settled = threading.Event()  # the first connection went live or failed
        self._sender = threading.Thread(target=self._send_loop, name="mqtt-sender", daemon=True)
        if health is not None:
            health.set_backlog(self.backlog)

    @property
    def where(self) -> str:
        return f"{self._cfg.host}:{self._cfg.port}"

    @property
    def connected(self) -> bool:
        with self._cond:
            return self._live

    def backlog(self) -> int:
        """Messages waiting for the broker."""
        with self._cond:
            return len(self._outbox)

    # -- Publisher ------------------------------------------------------------------------------
    def subscribe(self, receiver: Receiver) -> None:
        self._receivers.append(receiver)

    def publish(self, topic: str, payload: Payload, *, retain: bool = False, backlog: bool = True) -> None:
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        with self._cond:
            if retain:
                self._retained[topic] = data
                if not self._live or self._resend_retained:
                    return  # sent with every retained message once the connection is live
            elif not self._live and not backlog:
                return
            if self._outbox.put(Message(topic, data, retain)) and not self._drops_logged:
                self._drops_logged = True
                logger.warning(
                    "MQTT outbox full (%d messages): dropping the oldest until the broker at %s is back",
                    self._outbox.limit,
                    self.where,
                )
            self._cond.notify_all()

    def forget_retained(self, camera: str) -> None:
        """``camera`` runs elsewhere now: its retained topics (switch states, snapshots) are no longer sent
        again after a reconnect, where they would overwrite what the node running it publishes."""
        head = camera + "/"
        with self._cond:
            self._retained = {topic: data for topic, data in self._retained.items() if not topic.startswith(head)}

    def start(self) -> None:
        """Connects in the background; a missing broker is retried with backoff, logged once."""
        try:
            self._client = self._make_client(self._client_id, topics.AVAILABLE)
            self._client.on_connect = self._on_connect
            self._client.on_connect_fail = self._on_connect_fail
            self._client.on_disconnect = self._on_disconnect
            self._client.on_subscribe = self._on_subscribe
            self._client.on_message = self._on_message
            self._client.connect_async(self._cfg.host, self._cfg.port, self._keepalive)
            if self._node_id is not None:
                self._presence = self._make_client(f"{self._client_id}-node", self._node_topic)
                self._presence.on_connect = self._on_presence_connect
                self._presence.connect_async(self._cfg.host, self._cfg.port, self._keepalive)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            logger.error("MQTT cannot be set up (%s); the daemon runs without it", exc)
            self._client = self._presence = None
            self._settled.set()
            return
        self._sender.start()
        self._client.loop_start()
        if self._presence is not None:
            self._presence.loop_start()

    @property
    def _node_topic(self) -> str:
        return topics.node_available(self._node_id or "")

    def wait_settled(self, timeout: float) -> bool:
        """Waits until the first connection is live (states read back) or has failed; True when live."""
        self._settled.wait(timeout)
        return self.connected

    def stop(self, timeout: float = 3.0) -> None:
        """Sends what is queued, then ``available: offline``, then disconnects (no last will)."""
        client = self._client
        if client is None:
            return
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._sender.is_alive():
            self._sender.join(timeout)
        if self.connected and self._last_one_up():
            _publish_and_wait(client, topics.full(self._prefix, topics.AVAILABLE), OFFLINE, timeout)
        client.disconnect()
        client.loop_stop()
        self._client = None
        presence, self._presence = self._presence, None
        if presence is not None:
            if presence.is_connected():
                _publish_and_wait(presence, topics.full(self._prefix, self._node_topic), OFFLINE, timeout)
            presence.disconnect()
            presence.loop_stop()

    def _last_one_up(self) -> bool:
        """Whether stopping turns the shared ``available`` off: a single node, or no other node alive."""
        if self._others_alive is None:
            return True
        try:
            return not self._others_alive()
        except Exception as exc:  # the database away: offline, which a live node turns back at once
            logger.warning("cannot tell whether other nodes are alive (%s); publishing offline", exc)
            return True

    # -- paho -----------------------------------------------------------------------------------
    def _make_client(self, client_id: str, will_topic: str) -> mqtt.Client:
        cfg = self._cfg
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        if cfg.user is not None:
            client.username_pw_set(cfg.user, cfg.password)
        if cfg.tls_ca_certs is not None:
            client.tls_set(
                ca_certs=str(cfg.tls_ca_certs),
                certfile=str(cfg.tls_client_cert) if cfg.tls_client_cert is not None else None,
                keyfile=str(cfg.tls_client_key) if cfg.tls_client_key is not None else None,
            )
            if cfg.tls_insecure:
                client.tls_insecure_set(True)
        client.will_set(topics.full(self._prefix, will_topic), OFFLINE, qos=QOS, retain=True)
        client.reconnect_delay_set(*self._delays)
        return client

    def _on_presence_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if not reason.is_failure:  # the main connection logs and reports the broker's state
            client.publish(topics.full(self._prefix, self._node_topic), ONLINE, qos=QOS, retain=True)

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._log_state(f"refused:{reason}", logging.ERROR, "MQTT broker at %s refused us: %s", self.where, reason)
            self._report(f"broker at {self.where} refused us: {reason}")
            self._settled.set()
            return
        self._log_state("connected", logging.INFO, "MQTT connected to %s as %s", self.where, self._client_id)
        client.publish(topics.full(self._prefix, topics.AVAILABLE), ONLINE, qos=QOS, retain=True)
        with self._cond:
            self._link_up, self._resend_retained = True, True
        if self._node_id is not None:  # a dying node's will may turn the shared topic off: watched
            client.subscribe(topics.full(self._prefix, topics.AVAILABLE), QOS)
        if not self._restored:
            client.subscribe([(topics.full(self._prefix, t), QOS) for t in topics.state_subscriptions()])
        # The broker answers subscriptions in order, each after the retained messages it matched:
        # this SUBACK means every retained state has been read back.
        _, self._sync_mid = client.subscribe(
            [(topics.full(self._prefix, t), QOS) for t in topics.command_subscriptions()]
        )

    def _on_subscribe(self, client: mqtt.Client, _userdata: Any, mid: int, _codes: Any, _props: Any) -> None:
        if mid != self._sync_mid:
            return
        if not self._restored:
            self._restored = True
            if self._node_id is None:  # in a cluster the states of the cameras run elsewhere keep coming
                client.unsubscribe([topics.full(self._prefix, t) for t in topics.state_subscriptions()])
        with self._cond:
            self._live = self._link_up
            if self._live and self._health is not None:
                self._health.ok()  # with _live: whoever sees it connected sees it healthy
            self._cond.notify_all()
        self._settled.set()

    def _on_message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        topic = topics.relative(self._prefix, message.topic)
        if topic is None:
            return
        if topic == topics.AVAILABLE:
            self._keep_online(client, bytes(message.payload))
            return
        parsed = topics.parse_switch_topic(topic)
        restored_once = self._node_id is None and (self._restored or not message.retain)
        if parsed is not None and parsed.kind == "state" and restored_once:
            return  # a single node reads the states back once, at start; after that they are ours
        for receiver in self._receivers:
            try:
                receiver(topic, bytes(message.payload))
            except Exception:
                logger.exception("handling %s failed", message.topic)

    def _keep_online(self, client: mqtt.Client, payload: bytes) -> None:
        """Cluster: another node's will (or clean stop) said ``offline`` while this node is up: ``online``."""
        with self._cond:
            closing = self._closing
        if payload.strip() == OFFLINE.encode() and not closing:
            logger.info("MQTT: %s/available went offline while this node runs; publishing online", self._prefix)
            client.publish(topics.full(self._prefix, topics.AVAILABLE), ONLINE, qos=QOS, retain=True)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        with self._cond:
            self._link_up = self._live = False
            self._waited = True
            closing = self._closing
            if not closing and not self._state.startswith("refused"):  # that reason stays: the broker said it
                self._report(f"connection to {self.where} lost ({reason})")
        if closing:
            return
        if self._state == "connected":
            self._log_state(
                "down",
                logging.WARNING,
                "MQTT connection to %s lost (%s); reconnecting with backoff (%d to %d s); up to %d messages wait",
                self.where,
                reason,
                *self._delays,
                self._outbox.limit,
            )
        elif self._state == "init":  # closed before the broker answered: TLS, or not an MQTT port
            self._log_state(
                "down",
                logging.WARNING,
                "MQTT connection to %s closed before it was accepted (%s; TLS settings?); retrying with backoff"
                " (%d to %d s); up to %d messages wait",
                self.where,
                reason,
                *self._delays,
                self._outbox.limit,
            )
        self._settled.set()

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        # paho calls this from its ``except OSError:`` around the connect: that is the reason
        error = sys.exc_info()[1]
        why = f" ({type(error).__name__}: {error})" if error is not None else ""
        with self._cond:
            self._waited = True
        self._report(f"broker at {self.where} unreachable{why}")
        if self._state == "init":
            self._log_state(
                "down",
                logging.WARNING,
                "MQTT broker at %s unreachable%s; the daemon runs on and retries with backoff (%d to %d s);"
                " up to %d messages wait",
                self.where,
                why,
                *self._delays,
                self._outbox.limit,
            )
        self._settled.set()

    def _report(self, error: str) -> None:
        if self._health is not None:
            self._health.failed(error)

    def _log_state(self, state: str, level: int, msg: str, *args: Any) -> None:
        if state != self._state:
            self._state = state
            logger.log(level, msg, *args)

    # -- the sender thread ----------------------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            with self._cond:
                while not (self._live and (self._resend_retained or self._outbox)) and not self._closing:
                    self._cond.wait(1.0)
                if self._closing and not (self._live and (self._resend_retained or self._outbox)):
                    return
                batch = self._next_batch()
            client = self._client
            if client is None:
                return
            for message in batch:
                client.publish(
                    topics.full(self._prefix, message.topic), message.payload, qos=QOS, retain=message.retain
                )

    def _next_batch(self) -> list[Message]:
        """Under ``_cond``: every retained message after a (re)connect, else the oldest queued one."""
        if not self._resend_retained:
            message = self._outbox.pop()
            return [message] if message is not None else []
        self._resend_retained = False
        self._drops_logged = False
        dropped = self._outbox.take_dropped()
        if dropped:
            logger.warning(
                "MQTT: %d message(s) produced while the broker was away were dropped (the outbox holds %d)",
                dropped,
                self._outbox.limit,
            )
        if self._outbox and self._waited:
            logger.info("MQTT: delivering %d message(s) queued while the broker was away", len(self._outbox))
        self._waited = False
        return [Message(topic, payload, True) for topic, payload in self._retained.items()]


def _publish_and_wait(client: mqtt.Client, topic: str, payload: str, timeout: float) -> None:
    """Publishes a retained ``payload`` and waits (≤ ``timeout``) until it has left."""
    info = client.publish(topic, payload, qos=QOS, retain=True)
    if info.rc == mqtt.MQTT_ERR_SUCCESS:
        # RuntimeError: the connection dropped meanwhile, and the last will says offline
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(timeout)
