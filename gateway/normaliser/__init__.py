"""Normaliser: committed cumulative readings → normalised series, outbox rows, plugin batches.

`task` is the named task and its transaction; `convert` turns one interval amount into a
:class:`gateway.model.Reading` (units, band, gas day); `upstream` builds the outbox rows.
"""

from gateway.normaliser.convert import ChannelError, SiteContext, to_reading
from gateway.normaliser.task import Normaliser, Sink

__all__ = ["ChannelError", "Normaliser", "Sink", "SiteContext", "to_reading"]
