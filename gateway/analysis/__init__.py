"""Baselines, savings and contract settlements (IPMVP) on meterkit data; import submodules."""
