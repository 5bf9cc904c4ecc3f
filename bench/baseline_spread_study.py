"""Simulation study behind decision record 014: CalTRACK degree days vs the spread search.

Synthetic buildings, two years of hourly weather each: a seasonal cycle, AR(1) day-to-day
weather, and a day-night swing of the given range. The baseline year trains the model and
the second year is predicted. The truth is the noise-free load of the second year. There
are three load types:
  daily   responds to the daily mean temperature (CalTRACK's own assumption);
  hourly  responds hour by hour (a mild day's cold night still heats);
  lag     responds to a 12-hour smoothed temperature (thermal mass).
Each building is heating, cooling or both, with random balance points and slopes. For each
type and diurnal range the script prints the mean absolute error of the reporting total for
CalTRACK degree days (`temperature_spreads=(0.0,)`) and for the default spread search, the
share of buildings where the search was closer, and the spreads it chose.

    .venv/bin/python bench/baseline_spread_study.py [--buildings 80] [--noise 0.2]
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta

import numpy as np

from gateway.analysis.degree_days import DailyTemperature
from gateway.analysis.regression import fit_degree_day_model
from gateway.analysis.usage import usage_periods


def weather(rng: np.random.Generator, diurnal: float, years: int = 2) -> np.ndarray:
    nd = 365 * years
    doy = np.arange(nd)
    season = 11 - 13 * np.cos(2 * np.pi * (doy - 15) / 365.25)
    wx = np.zeros(nd)
    e = rng.normal(0, 3.5, nd)
    for i in range(1, nd):
        wx[i] = 0.7 * wx[i - 1] + e[i]
    amp = diurnal / 2 * (1 + 0.3 * rng.normal(size=nd)).clip(0.3, 2)
    h = np.arange(24)
    swing = amp[:, None] * np.sin(2 * np.pi * (h - 9) / 24)[None, :]
    return (season + wx)[:, None] + swing + rng.normal(0, 0.7, (nd, 24))


def load(hourly: np.ndarray, kind: str, a: float, bh: float, tbh: float, bc: float,
         tbc: float) -> np.ndarray:
    if kind == "daily":
        t = hourly.mean(1)
        return a + bh * np.maximum(tbh - t, 0) + bc * np.maximum(t - tbc, 0)
    t = hourly
    if kind == "lag":
        flat = hourly.ravel()
        sm = np.empty_like(flat)
        sm[0] = flat[0]
        for i in range(1, len(flat)):
            sm[i] = sm[i - 1] + (flat[i] - sm[i - 1]) / 12
        t = sm.reshape(hourly.shape)
    return a + (bh * np.maximum(tbh - t, 0) + bc * np.maximum(t - tbc, 0)).mean(1)


def study(kind: str, diurnal: float, buildings: int, seed: int, noise_cv: float) -> None:
    rng = np.random.default_rng(seed)
    errs: dict[str, list[float]] = {"caltrack": [], "spread": []}
    chosen = []
    for _ in range(buildings):
        hourly = weather(rng, diurnal)
        days = tuple(date(2021, 1, 1) + timedelta(days=i) for i in range(hourly.shape[0]))
        dt = DailyTemperature(days, hourly.mean(1), np.full(len(days), 24))
        typ = rng.choice(["hc", "h", "c"])
        a = rng.uniform(5, 30)
        bh = rng.uniform(0.5, 4) if "h" in typ else 0.0
        bc = rng.uniform(0.5, 6) if "c" in typ else 0.0
        tbh = rng.uniform(12, 18)
        tbc = tbh + rng.uniform(2, 8)
        mu = load(hourly, kind, a, bh, tbh, bc, tbc)
        y = np.maximum(mu + rng.normal(0, noise_cv * mu.mean(), len(mu)), 0)
        base, rep = slice(0, 365), slice(365, 730)
        u = usage_periods(days[base], [d + timedelta(days=1) for d in days[base]], y[base],
                          unit="kWh")
        truth = mu[rep].sum()
        rd = days[rep]
        for label, opts in (("caltrack", {"temperature_spreads": (0.0,)}), ("spread", {})):
            m = fit_degree_day_model(u, dt, **opts)
            p = m.predict(rd, [d + timedelta(days=1) for d in rd], dt).sum()
            errs[label].append(p / truth - 1)
            if label == "spread":
                chosen.append(m.temperature_spread_c)
    c, s = np.abs(errs["caltrack"]), np.abs(errs["spread"])
    print(f"{kind:7s} diurnal {diurnal:4.1f} °C: MAE CalTRACK {100 * c.mean():.2f} %, "
          f"spread {100 * s.mean():.2f} %; spread closer in {np.mean(s < c):.0%}; "
          f"median s {np.median(chosen):.1f} °C, s = 0 in {np.mean(np.array(chosen) == 0):.0%}",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=80, help="per load type and range")
    ap.add_argument("--noise", type=float, default=0.2, help="daily noise, CV of the mean load")
    args = ap.parse_args()
    for ki, kind in enumerate(("daily", "hourly", "lag")):
        for di, diurnal in enumerate((6.0, 10.0, 14.0)):
            study(kind, diurnal, args.buildings, 100 * ki + di, args.noise)


if __name__ == "__main__":
    main()
