"""Persistent board state: registers, open intervals, boot count, overrides (one JSON file)."""

import json

from firmware import atomic


class State:
    """`data` keys: boot (count), ch ({id: [register, fraction_milli, interval_start, flags]}),
    cmds (recent cmd_ids, newest last), cal ({id: {calibration overrides}}), thr ({id:
    [kind, value]}), upload_s (override or absent). `fresh` is True when no valid file existed.
    """

    def __init__(self, path):
        self._path = path
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
