"""Board config: load the provisioning JSON, fill defaults, validate with the key path in errors.

Loaded once at boot and then dropped from `sys.modules`. `load(path)` returns
`(cfg, errors)`: `cfg` is None when the board cannot talk to the gateway at all (device_id,
key or gateway broken); otherwise bad channels are left out and listed in `errors` as
`(channel index or None, message)`. Messages never contain the key.
"""

import binascii
import json

_TOP = {
    "status_every_s": 14400,
    "watchdog_s": 120,
    "persist_s": 300,
    "tick_ms": 1000,
    "close_grace_s": 2,
    "power_fail_mv": 0,
}
_UPLOAD = {
    "every_s": 0,
    "batch": 16,
    "ack_timeout_s": 30,
    "connect_timeout_s": 90,
    "backoff_min_s": 15,
    "backoff_max_s": 1800,
    "idle_close_s": 60,
}
_QUEUE = {"max_kb": 192, "segment_bytes": 4096}
_CLOCK = {"max_drift_s": 5}
_MODEM = {
    "type": "sim7000",
    "apn": "",
    "apn_user": "",
    "apn_pass": "",
    "uart": 1,
    "tx": 17,
    "rx": 16,
    "baud": 115200,
    "pwrkey": 4,
    "power_pin": -1,
    "power_cycle_after": 3,
}
_CT = {
    "pin": 34,
    "ct_ratio": 2000,
    "burden_ohm": 33.0,
    "gain": 1.0,
    "nominal_v": 230.0,
    "pf": 1.0,
    "mains_hz": 50,
    "samples_per_cycle": 32,
    "cycles": 10,
    "sample_every_s": 10,
    "adc_vref_v": 3.3,
    "interval_s": 900,
    "unit": "Wh",
}
_PULSE = {
    "pin": 27,
    "edge": "falling",
    "pull": "up",
    "litres_per_pulse": 10.0,
    "unit": "L",
    "stable_ms": 20,
    "min_period_ms": 250,
    "interval_s": 3600,
}


class ConfigError(Exception):
    """`path` (e.g. "channels[1].edge") and what is wrong with it; never carries the key."""

    def __init__(self, path, problem):
        super().__init__("config %s: %s" % (path, problem))
        self.path = path


def _num(d, k, path, lo, hi, integer=False):
    v = d[k]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and
                                                                  not isinstance(v, int)):
        raise ConfigError(path + k, "must be %s, got %r" % ("an integer" if integer else
                                                           "a number", v))
    if v < lo or v > hi:
        raise ConfigError(path + k, "%r is outside %r..%r" % (v, lo, hi))
    return v


def _choice(d, k, path, options):
    if d[k] not in options:
        raise ConfigError(path + k, "%r is not one of %s" % (d[k], ", ".join(options)))


def _defaults(d, defaults, path):
    if not isinstance(d, dict):
        raise ConfigError(path, "must be an object")
    for k in d:
        if k not in defaults and k not in ("id", "type", "v_pin", "v_ratio"):
            raise ConfigError(path + "." + k, "unknown key")
    for k in defaults:
        if k not in d:
            d[k] = defaults[k]
    return d


def _channel(c, path):
    if not isinstance(c, dict):
        raise ConfigError(path, "must be an object")
    t = c.get("type")
    if t not in ("ct", "pulse"):
        raise ConfigError(path + ".type", "%r is not ct or pulse" % (t,))
    if "id" not in c:
        raise ConfigError(path + ".id", "missing")
    _defaults(c, _CT if t == "ct" else _PULSE, path)
    p = path + "."
    _num(c, "id", p, 0, 254, True)
    _num(c, "pin", p, 0, 255, True)
    _choice(c, "interval_s", p, (900, 3600))
    if t == "ct":
        _num(c, "ct_ratio", p, 1, 1000000)
        _num(c, "burden_ohm", p, 0.001, 100000)
        _num(c, "gain", p, 0.5, 2.0)
        _num(c, "nominal_v", p, 1, 10000)
        _num(c, "pf", p, 0.0, 1.0)
        _choice(c, "mains_hz", p, (50, 60))
        _num(c, "samples_per_cycle", p, 4, 200, True)
        _num(c, "cycles", p, 1, 50, True)
        _num(c, "sample_every_s", p, 1, 3600, True)
        _num(c, "adc_vref_v", p, 0.5, 5.0)
        _choice(c, "unit", p, ("Wh",))
        if c["samples_per_cycle"] * c["cycles"] > 2000:
            raise ConfigError(p + "cycles", "samples_per_cycle * cycles must be <= 2000")
        if "v_pin" in c:
            _num(c, "v_pin", p, 0, 255, True)
            if "v_ratio" not in c:
                raise ConfigError(p + "v_ratio", "missing (needed with v_pin)")
            _num(c, "v_ratio", p, 1, 100000)
    else:
        _choice(c, "edge", p, ("falling", "rising"))
        _choice(c, "pull", p, ("up", "down", "none"))
        _num(c, "litres_per_pulse", p, 0.001, 1000)
        _choice(c, "unit", p, ("L", "pulse"))
        _num(c, "stable_ms", p, 1, 1000, True)
        _num(c, "min_period_ms", p, 0, 600000, True)
        c["pulse_ml"] = int(c["litres_per_pulse"] * 1000 + 0.5)
    return c


def _core(cfg):
    if not isinstance(cfg, dict):
        raise ConfigError("(top level)", "must be a JSON object")
    for k in ("device_id", "key", "gateway"):
        if k not in cfg:
            raise ConfigError(k, "missing")
    _num(cfg, "device_id", "", 1, 0xFFFFFFFF, True)
    key = cfg["key"]
    if not isinstance(key, str) or len(key) != 32:
        raise ConfigError("key", "must be 32 hex digits (AES-128)")
    try:
        cfg["key_bytes"] = binascii.unhexlify(key)
    except ValueError:
        raise ConfigError("key", "must be 32 hex digits (AES-128)")
    gw = cfg["gateway"]
    if not isinstance(gw, dict) or not isinstance(gw.get("host"), str) or not gw["host"]:
        raise ConfigError("gateway.host", "must be a non-empty string")
    _num(gw, "port", "gateway.", 1, 65535, True)
    for k in cfg:
        if k not in _TOP and k not in ("device_id", "key", "gateway", "modem", "channels",
                                        "upload", "queue", "clock", "key_bytes"):
            raise ConfigError(k, "unknown key")
    for k in _TOP:
        if k not in cfg:
            cfg[k] = _TOP[k]
    for name, d in (("upload", _UPLOAD), ("queue", _QUEUE), ("clock", _CLOCK),
                    ("modem", _MODEM)):
        cfg[name] = _defaults(cfg.get(name, {}), d, name)
    u = cfg["upload"]
    _num(u, "batch", "upload.", 1, 64, True)
    _num(u, "backoff_min_s", "upload.", 1, 86400)
    _num(u, "backoff_max_s", "upload.", u["backoff_min_s"], 86400)
    _num(u, "ack_timeout_s", "upload.", 1, 600)
    _num(cfg["queue"], "max_kb", "queue.", 4, 4096, True)
    _num(cfg["queue"], "segment_bytes", "queue.", 1100, 65535, True)
    _choice(cfg["modem"], "type", "modem.", ("sim7000", "sim7600", "bg96", "none"))
    _num(cfg, "status_every_s", "", 60, 604800, True)
    _num(cfg, "watchdog_s", "", 10, 3600, True)
    _num(cfg, "persist_s", "", 10, 86400, True)
    _num(cfg, "tick_ms", "", 10, 10000, True)


def load(path):
    """Return (cfg or None, errors, config_hash)."""
    errors = []
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        return None, [(None, "config %s: cannot read (%s)" % (path, e))], 0
    try:
        cfg = json.loads(text)
        _core(cfg)
    except (ValueError, KeyError, TypeError) as e:
        return None, [(None, "config: not valid JSON (%s)" % e)], 0
    except ConfigError as e:
        return None, [(None, str(e))], 0
    chans = cfg.get("channels", [])
    good = []
    if not isinstance(chans, list) or not chans:
        errors.append((None, "config channels: must be a non-empty list"))
        chans = []
    seen = []
    for i in range(len(chans)):
        try:
            c = _channel(chans[i], "channels[%d]" % i)
            if c["id"] in seen:
                raise ConfigError("channels[%d].id" % i, "duplicate id %d" % c["id"])
            seen.append(c["id"])
            good.append(c)
        except ConfigError as e:
            errors.append((i, str(e)))
    cfg["channels"] = good
    # The hash identifies the file's content, with the key blanked out.
    chash = binascii.crc32(text.replace(cfg["key"], "0" * 32).encode())
    return cfg, errors, chash
