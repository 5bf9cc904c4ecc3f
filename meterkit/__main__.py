"""Allow `python -m meterkit`."""

from meterkit.cli import main

raise SystemExit(main())
