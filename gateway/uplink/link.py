"""One long-lived paho-mqtt client, its jittered reconnect loop, and callbacks bridged to asyncio.

Threading (docs/decisions/006-uplink.md): paho's own network thread (``loop_start()``) does all
socket I/O; it is started after each successful TCP/TLS connect and ends when the connection
drops (``reconnect_on_failure=False``), because reconnecting is ours: :class:`Backoff` adds the
jitter paho's built-in reconnect lacks. The blocking ``connect()`` (DNS, TCP, TLS handshake) runs
in a worker thread. Every paho callback only hands its arguments to the event loop with
``loop.call_soon_threadsafe`` (PUBACKs in batches: one loop wake-up per burst); all state lives
on the asyncio side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.backoff import Backoff, Retry
from gateway.uplink.config import MqttConfig, tls_context
from gateway.uplink.errors import BrokerRefused, BrokerUnreachable, UplinkError

__all__ = ["Connack", "Link", "LinkSink"]

_REFUSAL_HINTS = {
    "Bad user name or password": "check mqtt.username / mqtt.password and the broker's "
                                 "password file",
    # mosquitto 2.0 answers a wrong password with "Not authorized" too (MQTT 5 and 3.1.1)
    "Not authorized": "check mqtt.username / mqtt.password (or mqtt.password_file) against the "
                      "broker's password file; if they are right, the broker's allow_anonymous "
                      "or ACL refuses this client",
    "Client identifier not valid": "mqtt.client_id must be unique and allowed by the broker",
}


@dataclass(frozen=True, slots=True)
class Connack:
    """What the broker told us when accepting the connection (MQTT 5 properties or None)."""

    session_present: bool
    receive_maximum: int | None
    maximum_packet_size: int | None


class LinkSink(Protocol):
    """What the link reports to its owner, always on the event loop thread."""

    def link_up(self, connack: Connack) -> None: ...
    def link_down(self, reason: str) -> None: ...
    def puback(self, mid: int, failure: str | None) -> None: ...
    def message(self, msg: mqtt.MQTTMessage) -> None: ...


class Link:
    """Owns the paho client. ``await run(stopping)`` keeps it connected until `stopping` is set."""

    def __init__(self, cfg: MqttConfig, sink: LinkSink, *,
                 will: Callable[[], tuple[str, bytes]],
                 logger: logging.Logger, stable_after_s: float = 10.0) -> None:
        self.cfg = cfg
        self.broker = f"{cfg.host}:{cfg.port}"
        self._sink = sink
        self._log = logger
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stable_after_s = stable_after_s
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self.connected = False
        self.refusals = 0
        self.last_error: str | None = None
        self._will = will
        self._rebuild = False
        self._acks: list[tuple[int, str | None]] = []
        self._acks_lock = threading.Lock()
        self.client = self._build()

    def _build(self) -> mqtt.Client:
        cfg = self.cfg
        v5 = cfg.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=cfg.effective_client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False, manual_ack=True, reconnect_on_failure=False,
        )
        client.max_inflight_messages_set(cfg.inflight)
        client.max_queued_messages_set(0)
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls is not None:
            try:
                client.tls_set_context(tls_context(cfg.tls))
            except (ssl.SSLError, OSError) as exc:   # files changed since validation
                raise UplinkError(f"TLS files cannot be loaded: {exc}", broker=self.broker,
                                  hint="run `meterkit gateway check-config`, fix [mqtt.tls]"
                                  ) from None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def forget_unacked(self) -> None:
        """Before the next connect, replace the paho client: it then forgets the messages it
        would resend (used to drop a quarantined poison message; the outbox republishes the
        rest). The only time the client object is replaced."""
        self._rebuild = True

    # -- paho thread → event loop -------------------------------------------------------------
    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # event loop already closed (shutdown)
            loop.call_soon_threadsafe(fn, *args)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    props: Properties | None) -> None:
        if client is not self.client:
            return
        rm = getattr(props, "ReceiveMaximum", None) if props is not None else None
        mps = getattr(props, "MaximumPacketSize", None) if props is not None else None
        ok = not reason.is_failure
        self._post(self._connected, ok, str(reason),
                   Connack(bool(flags.session_present), rm, mps))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       props: Properties | None) -> None:
        if client is self.client:
            self._post(self._disconnected, str(reason))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any,
                    props: Properties | None) -> None:
        if client is not self.client:
            return
        failure = f"{reason} (0x{reason.value:02x})" if reason.is_failure else None
        with self._acks_lock:               # batch: one loop wake-up per burst of PUBACKs
            self._acks.append((mid, failure))
            first = len(self._acks) == 1
        if first:
            self._post(self._deliver_acks)

    def _deliver_acks(self) -> None:
        with self._acks_lock:
            acks, self._acks = self._acks, []
        for mid, failure in acks:
            self._sink.puback(mid, failure)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if client is self.client:
            self._post(self._sink.message, msg)

    # -- event loop side ----------------------------------------------------------------------
    def _connected(self, ok: bool, reason: str, connack: Connack) -> None:
        if not ok:
            self.refusals += 1
            hint = _REFUSAL_HINTS.get(reason, "see the broker's log")
            err = BrokerRefused("connection refused", broker=self.broker, reason=reason,
                                hint=hint)
            self.last_error = str(err)
            self._log.error("MQTT %s: %s", err, reason)
            self._down.set()
            return
        self.connected = True
        self.last_error = None
        self._up.set()
        self._sink.link_up(connack)

    def _disconnected(self, reason: str) -> None:
        was = self.connected
        self.connected = False
        self._down.set()
        if was:
            self._sink.link_down(reason)

    def _connect_blocking(self) -> None:
        with contextlib.suppress(AttributeError):
            # paho's previous network thread may end between loop_stop's check and join
            self.client.loop_stop()
        if self._rebuild:
            self._rebuild = False
            self.client = self._build()
        # a fresh Will per connection: its msg_id must differ from the previous one's
        self.client.will_set(*self._will(), qos=1, retain=True)
        props = None
        if self.cfg.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.cfg.session_expiry_s
            self.client.connect(self.cfg.host, self.cfg.port, self.cfg.keepalive_s,
                                clean_start=False, properties=props)
        else:
            self.client.connect(self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        self.client.loop_start()

    async def run(self, stopping: asyncio.Event) -> None:
        """Connect, stay connected, reconnect with jittered exponential backoff until stopping."""
        self._loop = asyncio.get_running_loop()
        backoff = Backoff(self.cfg.reconnect_min_s, self.cfg.reconnect_max_s)
        try:
            await self._stay_connected(stopping, backoff, Retry())
        finally:
            await asyncio.to_thread(self._drop)     # DISCONNECT (no Will), stop paho's thread
            self.connected = False

    async def _stay_connected(self, stopping: asyncio.Event, backoff: Backoff,
                              retry: Retry) -> None:
        while not stopping.is_set():
            self._up.clear()
            self._down.clear()
            try:
                await asyncio.to_thread(self._connect_blocking)
            except (OSError, ssl.SSLError, ValueError) as exc:
                err = BrokerUnreachable(f"cannot connect: {exc}", broker=self.broker,
                                        hint="broker down, network down, or TLS settings")
                self.last_error = str(err)
                self._log.warning("MQTT %s", err)
            else:
                since = time.monotonic()
                await _first(self._up, self._down, stopping,
                             timeout=max(10.0, self.cfg.keepalive_s))
                if self._up.is_set():
                    self._log.info("MQTT connected to %s as %s", self.broker,
                                   self.cfg.effective_client_id)
                    await _first(self._down, stopping)
                    if time.monotonic() - since >= self._stable_after_s:
                        retry.succeeded()
                elif not self._down.is_set() and not stopping.is_set():
                    self._log.warning("MQTT %s: no CONNACK, reconnecting", self.broker)
                    await asyncio.to_thread(self._drop)
            if stopping.is_set():
                break
            delay = retry.failed(time.monotonic(), backoff)
            self._log.info("MQTT reconnecting to %s in %.2f s", self.broker, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stopping.wait()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> int:
        """Hand one message to paho (thread-safe); returns its mid. Kept and resent by paho
        across reconnects of this client until the PUBACK arrives."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise BrokerUnreachable(f"publish failed: {mqtt.error_string(info.rc)}",
                                    broker=self.broker)
        return int(info.mid)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)

    def ack(self, mid: int, qos: int) -> None:
        self.client.ack(mid, qos)

    def reconnect(self) -> None:
        """Drop the connection; the run loop reconnects with its backoff (the broker then
        delivers again every message this client did not acknowledge)."""
        if self.connected:
            self.client.disconnect()

    def _drop(self) -> None:
        self.client.disconnect()
        with contextlib.suppress(AttributeError):
            self.client.loop_stop()



async def _first(*events: asyncio.Event, timeout: float | None = None) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
