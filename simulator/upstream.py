"""An upstream platform's view: a persistent MQTT subscriber that keeps every message it gets.

It subscribes to `<prefix>/#` at QoS 1 with a persistent session (MQTT 5, session expiry one
day), so messages published while it is reconnecting are still delivered to it afterwards.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from simulator.errors import SimulatorError
from simulator.truth import Delivered

__all__ = ["UpstreamSubscriber"]


@dataclass
class UpstreamSubscriber:
    """Collects readings, alerts and plugin results published under `prefix`."""

    host: str
    port: int
    prefix: str = "meterkit"
    client_id: str = "meterkit-sim-upstream"
    protocol: str = "5"   # "5" or "3.1.1" (amqtt)
    readings: Delivered = field(default_factory=Delivered)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    results: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    other: int = 0
    last_message: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        v5 = self.protocol == "5"
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                   protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                                   clean_session=None if v5 else False)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_a: self._subscribed.set()
        self._client.on_message = self._on_message

    def start(self, timeout: float = 10.0) -> None:
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 86400
            self._client.connect(self.host, self.port, keepalive=30, clean_start=False,
                                 properties=props)
        else:
            self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self._client.loop_stop()
            raise SimulatorError(f"upstream subscriber could not subscribe on "
                                 f"{self.host}:{self.port} within {timeout} s",
                                 hint="is the broker running?")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(f"{self.prefix}/#", qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            doc = None
        with self._lock:
            self.last_message = time.monotonic()
            if not isinstance(doc, dict):
                self.other += 1
            elif str(doc.get("schema", "")).startswith("meterkit/reading/"):
                self.readings.add(doc)
            elif msg.topic.endswith("/alert"):
                self.alerts.append(doc)
            elif str(doc.get("schema", "")).startswith("meterkit/plugin_result/"):
                self.results.append((msg.topic, doc))
            else:
                self.other += 1

    def reading_count(self) -> int:
        with self._lock:
            return len(self.readings.messages)

    def snapshot(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                list[tuple[str, dict[str, Any]]]]:
        with self._lock:
            return (list(self.readings.messages), list(self.alerts), list(self.results))
