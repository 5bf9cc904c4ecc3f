"""Persistent board state: registers, overrides (one JSON file); the downlink counter floor."""

import json

from firmware import atomic


class State:
    """`data` keys: boot (count), ch ({id: [register, fraction_milli, interval_start, flags]}),
    cmds (recent cmd_ids, newest last), cal ({id: {calibration overrides}}), thr ({id:
    [kind, value]}), upload_s (override or absent). `fresh` is True when no valid file existed.
    """

    def __init__(self, path):
        self._path = path
        self.dir = path.rsplit("/", 1)[0]
        raw = atomic.read(path)
        data = None
        if raw is not None:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
        self.fresh = not isinstance(data, dict)
        if self.fresh:
            data = {}
        for k, v in (("boot", 0), ("ch", {}), ("cmds", []), ("cal", {}), ("thr", {})):
            if k not in data:
                data[k] = v
        self.data = data
        self.writes = 0
        self.room = None  # frees flash when it is full (the queue's make_room)

    def save(self):
        """Write the state; False if the flash is full even with the queue emptied (the old
        file stays: a power cut then loses what changed since, as between two saves)."""
        try:
            atomic.write(self._path, json.dumps(self.data).encode(), self.room)
        except OSError as e:
            if e.errno != 28:
                raise
            print("state: flash full, not saved")
            return False
        self.writes += 1
        return True


class DownlinkFloor:
    """The highest downlink counter the board accepted under its current key (PROTOCOL.md 7).

    A downlink frame at or below it is a replay. `advance(n)` saves n before the caller acts on
    the frame, so a power cut can skip a fresh frame (the gateway repeats what matters under a
    new counter) but never lets an old one in again. The file is 8 bytes: a check value of the
    key (the CCM tag of an empty message under a nonce no frame uses, first 4 bytes) and the
    counter. A new key starts at 0: frames sealed under the old key fail the tag anyway, and the
    gateway may have restarted its counter for a re-registered board."""

    def __init__(self, path, cipher, room=None):
        self._path = path
        self.room = room
        self._kcv = bytes(cipher.encrypt(b"\x02" + bytes(12), b"", b"")[0:4])
        raw = atomic.read(path)
        self.value = 0
        if raw is not None and len(raw) == 8 and raw[0:4] == self._kcv:
            self.value = int.from_bytes(raw[4:8], "big")

    def advance(self, n):
        """Raise the floor to n (> value) in flash; False if the flash is full: act on nothing."""
        try:
            atomic.write(self._path, self._kcv + n.to_bytes(4, "big"), self.room)
        except OSError as e:
            if e.errno != 28:
                raise
            return False
        self.value = n
        return True
