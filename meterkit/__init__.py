"""meterkit: the umbrella package that owns the `meterkit` command line."""

__version__ = "0.1.0"
__all__ = ["__version__"]
