"""Wall clock state: synced or not, corrections from the gateway's server_time."""


class Clock:
    def __init__(self, hal, max_drift_s):
        self._hal = hal
        self.synced = hal.rtc_trusted()
        self.max_drift_s = max_drift_s
        self.jump = 0  # correction not yet seen by the meter (seconds)

    def sync(self, server_time):
        """Apply a server time; return the correction in seconds if the clock was set, else 0."""
        hal = self._hal
        now = hal.time()
        delta = server_time - now
        was = self.synced
        self.synced = True
        if was and -self.max_drift_s <= delta <= self.max_drift_s:
            return 0
        if delta == 0:
            return 0
        if hal.set_time(server_time):
            if not -self.max_drift_s <= delta <= self.max_drift_s:
                self.jump += delta  # the meter realigns its intervals
            return delta
        return 0
