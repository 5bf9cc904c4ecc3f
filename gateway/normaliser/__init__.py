"""Normaliser: committed cumulative readings → normalised series, outbox rows, plugin batches.

`task` is the named task and its transaction; `channel` normalises one channel's rows inside
it; `convert` turns one interval amount into a :class:`gateway.model.Reading` (units, band,
gas day); `status` queues device status upstream; `renormalise` normalises a device's readings
again after its registry entry was fixed.
"""

from gateway.normaliser.convert import ChannelError, SiteContext, to_reading
from gateway.normaliser.renormalise import RenormaliseReport, renormalise_device
from gateway.normaliser.task import Normaliser, Sink

__all__ = ["ChannelError", "Normaliser", "RenormaliseReport", "Sink", "SiteContext",
           "renormalise_device", "to_reading"]
