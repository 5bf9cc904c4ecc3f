"""Time-of-week-and-temperature model: schedule and temperature response come back out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from gateway.analysis.errors import InsufficientDataError
from gateway.analysis.towt import fit_towt, hour_of_week


def _synthetic(days: int, length_s: int, seed: int):
    rng = np.random.default_rng(seed)
    n = days * 86400 // length_s
    # 2023-01-01 23:00 UTC is Monday 2 Jan 00:00 in Rome (CET)
    start = datetime(2023, 1, 1, 23, tzinfo=UTC)
    starts = [start + timedelta(seconds=i * length_s) for i in range(n)]
    how = hour_of_week(starts)
    hours = np.arange(n) * length_s / 3600.0
    temp = 14 - 9 * np.cos(2 * np.pi * hours / 8766) - 4 * np.cos(2 * np.pi * hours / 24)
    working = ((how // 24) < 5) & ((how % 24) >= 8) & ((how % 24) < 18)
    power = 5.0 + np.where(working, 20.0 + 1.5 * np.maximum(temp - 24.0, 0), 0.0)
    energy = power * length_s / 3600.0 + rng.normal(0, 0.3, n) * length_s / 3600.0
    return starts, energy, temp, working, power


def test_hour_of_week_is_local_time() -> None:
    # Monday 00:00 in Rome is Sunday 23:00 UTC in winter and 22:00 UTC in summer
    assert hour_of_week([datetime(2023, 1, 1, 23, tzinfo=UTC)])[0] == 0
    assert hour_of_week([datetime(2023, 7, 2, 22, tzinfo=UTC)])[0] == 0


def test_hourly_model_finds_working_hours_and_predicts_profile() -> None:
    starts, energy, temp, _, power = _synthetic(365, 3600, 1)
    m = fit_towt(starts, energy, temp, unit="kWh")
    occupied_truth = np.zeros(168, dtype=bool)
    for d in range(5):
        occupied_truth[d * 24 + 8: d * 24 + 18] = True
    assert (m.occupied == occupied_truth).mean() > 0.95
    pred = m.predict(starts, temp)
    assert pred.sum() == pytest.approx(power.sum(), rel=0.01)
    # hour by hour the model is within the noise (0.3 kW) plus the knot approximation
    assert np.sqrt(np.mean((pred - power) ** 2)) < 0.6
    assert m.stats.cvrmse < 0.1


def test_quarter_hour_data_gives_energy_per_quarter() -> None:
    starts, energy, temp, _, power = _synthetic(56, 900, 2)
    m = fit_towt(starts, energy, temp, unit="kWh", length_s=900, min_days=28)
    pred = m.predict(starts, temp)
    assert pred.sum() == pytest.approx((power * 0.25).sum(), rel=0.01)


def test_short_baseline_rejected_with_amounts() -> None:
    starts, energy, temp, _, _ = _synthetic(20, 3600, 3)
    with pytest.raises(InsufficientDataError) as err:
        fit_towt(starts, energy, temp, unit="kWh", min_days=28)
    assert err.value.required == 28 and err.value.available == pytest.approx(20.0)
