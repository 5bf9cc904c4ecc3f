"""Fit time of one year of daily and one year of hourly data: meterkit vs OpenEEmeter 4.x.

Same run, same data: eemeter's simulated meter "il-electricity-cdd-hdd" (daily and hourly
samples), the 365 days before its blackout. Ours: the daily degree-day model
(gateway.analysis.regression) with its default search (balance points x within-day
temperature spreads 0..6 °C, decision record 014) and, on the "CalTRACK dd" row, restricted
to CalTRACK's degree days of the daily mean (`temperature_spreads=(0.0,)`); and the
time-of-week-and-temperature model (gateway.analysis.towt). eemeter: DailyModel (default
"current" and "legacy") and HourlyCaltrackModel (CalTRACK hourly). Each fit is timed
`--repeat` times after one warm-up (numba compilation and caches are not counted); the table
shows the best of the runs (other load on the machine only ever adds time, so the minimum is
the stable figure; `--stat median` for the median) and the ratio.
Both sides include their data preparation (hourly temperatures -> daily means); "fit only"
is our model fit on prepared data. The hourly fit includes the hour-of-week computation.

    .venv/bin/python bench/baseline_fit.py [--repeat 5]

eemeter and pandas are bench/test-only dependencies (the dev extras install them).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np


def _timed(fn: Callable[[], object], repeat: int, stat: str = "min") -> float:
    fn()  # warm-up: imports, numba JIT, caches
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs) if stat == "min" else statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed fits per model")
    parser.add_argument(
        "--stat",
        choices=("min", "median"),
        default="min",
        help="figure shown per model (default: best of the runs)",
    )
    args = parser.parse_args()

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import pandas as pd
    from eemeter.eemeter import (
        DailyBaselineData,
        DailyModel,
        HourlyCaltrackBaselineData,
        HourlyCaltrackModel,
    )
    from eemeter.eemeter.samples.load import load_sample
    from rich.console import Console
    from rich.table import Table

    from gateway.analysis.degree_days import daily_mean_temperature
    from gateway.analysis.regression import fit_degree_day_model
    from gateway.analysis.towt import fit_towt
    from gateway.analysis.usage import usage_periods

    warnings.simplefilter("ignore")  # again: importing eemeter installs its own filters
    # (data, compared with, ours incl. data preparation, ours fit only, eemeter)
    rows: list[tuple[str, str, float, float, float]] = []

    # one year of daily data
    meter, temp_f, meta = load_sample("il-electricity-cdd-hdd-daily")
    bs = meta["blackout_start_date"]
    base = meter[(meter.index < bs) & (meter.index >= bs - pd.Timedelta(days=365))].dropna()
    temp_c = ((temp_f - 32) * 5 / 9).dropna()
    stamps = list(temp_c.index.to_pydatetime())
    days = [t.date() for t in base.index.to_pydatetime()]
    values = base["value"].to_numpy()

    def ours_daily() -> object:
        # includes the hourly -> daily temperature means, which eemeter also does in its fit
        dt = daily_mean_temperature(
            stamps, temp_c.to_numpy(), tz=ZoneInfo("UTC"), drop_short_days=True
        )
        u = usage_periods(days, [d + timedelta(days=1) for d in days], values, unit="kWh")
        return fit_degree_day_model(u, dt)

    def ours_daily_caltrack() -> object:
        dt = daily_mean_temperature(
            stamps, temp_c.to_numpy(), tz=ZoneInfo("UTC"), drop_short_days=True
        )
        u = usage_periods(days, [d + timedelta(days=1) for d in days], values, unit="kWh")
        return fit_degree_day_model(u, dt, temperature_spreads=(0.0,))

    ours = _timed(ours_daily, args.repeat, args.stat)
    ours_caltrack = _timed(ours_daily_caltrack, args.repeat, args.stat)
    dt_ready = daily_mean_temperature(
        stamps, temp_c.to_numpy(), tz=ZoneInfo("UTC"), drop_short_days=True
    )
    u_ready = usage_periods(days, [d + timedelta(days=1) for d in days], values, unit="kWh")
    ours_fit = _timed(lambda: fit_degree_day_model(u_ready, dt_ready), args.repeat, args.stat)
    ours_fit_caltrack = _timed(
        lambda: fit_degree_day_model(u_ready, dt_ready, temperature_spreads=(0.0,)),
        args.repeat,
        args.stat,
    )
    ee_times = {}
    for name in ("current", "legacy"):

        def ee_daily(name: str = name) -> object:
            data = DailyBaselineData.from_series(base, temp_f, is_electricity_data=True)
            return DailyModel(model=name).fit(data, ignore_disqualification=True)

        ee_times[name] = _timed(ee_daily, args.repeat, args.stat)
        rows.append(
            ("1 year daily", f"eemeter DailyModel({name!r})", ours, ours_fit, ee_times[name])
        )
    rows.append(
        (
            "1 year daily (CalTRACK dd)",
            "eemeter DailyModel('legacy')",
            ours_caltrack,
            ours_fit_caltrack,
            ee_times["legacy"],
        )
    )

    # one year of hourly data
    meter_h, temp_fh, meta_h = load_sample("il-electricity-cdd-hdd-hourly")
    bs = meta_h["blackout_start_date"]
    base_h = meter_h[(meter_h.index < bs) & (meter_h.index >= bs - pd.Timedelta(days=365))].dropna()
    t_h = ((temp_fh - 32) * 5 / 9).reindex(base_h.index).interpolate(limit_direction="both")
    starts_h = list(base_h.index.to_pydatetime())
    values_h = base_h["value"].to_numpy()
    temps_h = t_h.to_numpy()

    def ours_hourly() -> object:
        return fit_towt(starts_h, values_h, temps_h, unit="kWh", min_days=360)

    def ee_hourly() -> object:
        data = HourlyCaltrackBaselineData.from_series(base_h, temp_fh, is_electricity_data=True)
        return HourlyCaltrackModel().fit(data)

    t_hourly = _timed(ours_hourly, args.repeat, args.stat)
    rows.append(
        (
            "1 year hourly",
            "eemeter HourlyCaltrackModel",
            t_hourly,
            t_hourly,
            _timed(ee_hourly, args.repeat, args.stat),
        )
    )

    table = Table(title=f"Baseline fit time, {args.stat} of {args.repeat} (numpy {np.__version__})")
    cols = (
        "data",
        "compared with",
        "meterkit [ms]",
        "meterkit fit only [ms]",
        "eemeter [ms]",
        "eemeter / meterkit",
    )
    for col in cols:
        table.add_column(col, justify="left" if col in cols[:2] else "right")
    for data, other, t_ours, t_fit, t_ee in rows:
        table.add_row(
            data,
            other,
            f"{1000 * t_ours:.1f}",
            f"{1000 * t_fit:.1f}",
            f"{1000 * t_ee:.1f}",
            f"{t_ee / t_ours:.0f}x",
        )
    Console(width=140).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
