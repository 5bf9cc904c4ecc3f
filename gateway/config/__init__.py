"""Gateway configuration: one declarative TOML file, validated when loaded, typed settings.

Public surface: :func:`load_config`, :func:`check_config`, :class:`Problem`,
:class:`ConfigError` and the settings dataclasses. See docs/GATEWAY.md for every key.
"""

from gateway.config.load import check_config, load_config
from gateway.config.model import (
    Config,
    ConfigError,
    GatewaySettings,
    IngestSettings,
    PluginSettings,
    Problem,
    SiteSettings,
    StorageSettings,
)

__all__ = [
    "Config", "ConfigError", "GatewaySettings", "IngestSettings", "PluginSettings", "Problem",
    "SiteSettings", "StorageSettings", "check_config", "load_config",
]
