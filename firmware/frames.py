"""Seal uplink messages into one preallocated buffer and append them to the flash queue."""

from protocol import codec, frame
from protocol.crypto import Cipher

_TYPES = {"hello": 1, "readings": 2, "status": 3, "event": 4, "command_result": 7}


class FrameSink:
    """`emit(msg)`: encode, take a counter, seal, append; returns the counter used.

    Every uplink frame goes through the queue, so frames leave the board in counter order and
    an ACK of counter N covers exactly the records sent before it on that connection."""

    def __init__(self, device_id, key, counter, queue):
        self.device_id = device_id
        self.cipher = Cipher(key)
        self._counter = counter
        self._queue = queue
        self._buf = bytearray(frame.MAX_FRAME)
        self._nonce = bytearray(13)
        self.frames = 0
        self.bytes = 0

    def emit(self, msg):
        end = codec.encode_payload_into(self._buf, frame.HEADER_LEN, msg)
        ctr = self._counter.take()
        n = frame.seal_into(self.cipher, self._buf, _TYPES[msg["type"]], self.device_id, ctr,
                            end - frame.HEADER_LEN, False, self._nonce)
        self._queue.append(self._buf, n)  # drops, if any, are counted in queue.dropped
        self.frames += 1
        self.bytes += n
        return ctr
