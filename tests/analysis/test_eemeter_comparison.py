"""Side by side with OpenEEmeter 4.x on the simulated meters it ships (known true savings).

eemeter's samples (eemeter.eemeter.samples.load_sample) are simulated meters whose reporting
year uses 90 % of the baseline loads: the true counterfactual of the reporting year is its
observed total / 0.9. Baseline = the 365 days before the sample's blackout, reporting = the
365 days after it (eemeter's own tutorial split). eemeter is fitted with its default
("current") daily model and with its "legacy" (CalTRACK 2.0 style) settings; ours with its
defaults on the same days, temperatures converted from °F to °C. "ours (CalTRACK dd)" is our
model restricted to CalTRACK's degree days of the daily mean (`temperature_spreads=(0.0,)`),
reported for comparison only.

Criteria, against each of the two eemeter models:
  * per meter, our predicted reporting consumption is within 2 % of eemeter's;
  * over the meters, our mean distance from the true counterfactual is no larger than
    eemeter's (1e-4, i.e. 0.01 percentage points, of float tolerance). The "truth" itself
    carries the reporting year's simulated noise (about ±1.3 % of the annual total on these
    meters), so the comparison says "as close", not "better": see decision record 014.

`pytest -s` (or -rA) prints the per-meter figures.
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from eemeter.eemeter import DailyBaselineData, DailyModel, DailyReportingData
from eemeter.eemeter.samples.load import load_sample

from gateway.analysis.degree_days import daily_mean_temperature
from gateway.analysis.regression import fit_degree_day_model
from gateway.analysis.usage import usage_periods

SAMPLES = (
    "il-electricity-cdd-hdd-daily",
    "il-electricity-cdd-only-daily",
    "il-gas-hdd-only-daily",
    "il-gas-intercept-only-daily",
)
EEMETER_MODELS = ("current", "legacy")
TRUE_REPORTING_RATIO = 0.9         # metadata: annual_reporting_total_load / baseline = 0.9
KWH_PER_THERM = 29.3071            # the gas samples are in therms; our API takes kWh
UTC = ZoneInfo("UTC")


def _run(sample: str) -> dict[str, float]:
    meter, temp_f, meta = load_sample(sample)
    assert meta["annual_reporting_total_load"] / meta["annual_baseline_total_load"] == (
        pytest.approx(TRUE_REPORTING_RATIO))
    bs, be = meta["blackout_start_date"], meta["blackout_end_date"]
    base = meter[(meter.index < bs) & (meter.index >= bs - pd.Timedelta(days=365))].dropna()
    rep = meter[(meter.index >= be) & (meter.index < be + pd.Timedelta(days=365))].dropna()
    electricity = meta["interpretation"] == "electricity"
    scale = 1.0 if meta["unit"] == "kWh" else KWH_PER_THERM

    ee_totals = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            for kind in EEMETER_MODELS:
                model = DailyModel(model=kind).fit(
                    DailyBaselineData.from_series(base, temp_f, is_electricity_data=electricity),
                    ignore_disqualification=True)
                ee_pred = model.predict(
                    DailyReportingData.from_series(rep, temp_f, is_electricity_data=electricity),
                    ignore_disqualification=True)
                ee_totals[kind] = float(ee_pred["predicted"].sum())
        finally:
            logging.disable(logging.NOTSET)

    temp_c = ((temp_f - 32.0) * 5.0 / 9.0).dropna()
    daily_t = daily_mean_temperature(list(temp_c.index.to_pydatetime()), temp_c.to_numpy(),
                                     tz=UTC, drop_short_days=True)
    bdays = [t.date() for t in base.index.to_pydatetime()]
    rdays = [t.date() for t in rep.index.to_pydatetime()]
    usage = usage_periods(bdays, [d + timedelta(days=1) for d in bdays],
                          base["value"].to_numpy() * scale, unit="kWh")
    rends = [d + timedelta(days=1) for d in rdays]
    ours = fit_degree_day_model(usage, daily_t)
    caltrack = fit_degree_day_model(usage, daily_t, temperature_spreads=(0.0,))
    truth = float(rep["value"].sum()) / TRUE_REPORTING_RATIO
    return {
        "ours": float(ours.predict(rdays, rends, daily_t).sum()) / scale,
        "ours_caltrack": float(caltrack.predict(rdays, rends, daily_t).sum()) / scale,
        "truth": truth,
        **ee_totals,
        "spread_c": ours.temperature_spread_c,
    }


COLUMNS = (("ours", "ours"), ("ours_caltrack", "ours (CalTRACK dd)"),
           ("current", "eemeter current"), ("legacy", "eemeter legacy"))


def _table(results: dict[str, dict[str, float]]) -> str:
    """Per-meter predicted reporting totals and their error against the true counterfactual."""
    head = f"{'meter':30s} {'truth':>9s}" + "".join(f" {label:>24s}" for _, label in COLUMNS)
    lines = [head]
    for sample, r in results.items():
        cells = "".join(f" {r[k]:>14.1f} ({100 * (r[k] / r['truth'] - 1):+6.2f} %)"
                        for k, _ in COLUMNS)
        gaps = "  ".join(f"vs {k} {100 * (r['ours'] / r[k] - 1):+.2f} %" for k in EEMETER_MODELS)
        lines.append(f"{sample:30s} {r['truth']:>9.1f}{cells}   spread {r['spread_c']:g} °C, "
                     f"ours {gaps}")
    means = "".join(f" {'':>14s} ({100 * _mean_error(results, k):6.2f} %)" for k, _ in COLUMNS)
    lines.append(f"{'mean |error|':30s} {'':>9s}{means}")
    return "\n".join(lines)


def _mean_error(results: dict[str, dict[str, float]], key: str) -> float:
    return float(np.mean([abs(r[key] / r["truth"] - 1) for r in results.values()]))


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, float]]:
    # eemeter's fits take about a second each (plus numba compilation on a cold cache)
    out = {s: _run(s) for s in SAMPLES}
    print("\n" + _table(out))
    return out


@pytest.mark.parametrize("kind", EEMETER_MODELS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_within_2_percent_of_eemeter(results: dict[str, dict[str, float]], sample: str,
                                     kind: str) -> None:
    r = results[sample]
    assert r["ours"] == pytest.approx(r[kind], rel=0.02), _table(results)


@pytest.mark.parametrize("kind", EEMETER_MODELS)
def test_as_close_to_the_true_counterfactual_as_eemeter(
    results: dict[str, dict[str, float]], kind: str
) -> None:
    ours, theirs = _mean_error(results, "ours"), _mean_error(results, kind)
    assert ours <= theirs + 1e-4, _table(results)
