"""Handlers of `meterkit analyze baseline|savings|lighting-pmvp|epc|bands`.

Each reads its inputs (gateway.analysis.inputs), calls the pure functions and renders the
result (gateway.analysis.render). Input problems surface as AnalysisError and become exit
status 1 with the structured error, as text or as JSON.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.analysis.errors import AnalysisError
from gateway.analysis.render import emit_error, emit_json, print_kv, print_table

__all__ = ["bands", "baseline", "epc", "guarded", "lighting_pmvp", "savings"]

Handler = Callable[[argparse.Namespace], int]


def guarded(fn: Handler) -> Handler:
    """Turn AnalysisError into exit status 1 and a readable (or JSON) error."""

    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except AnalysisError as exc:
            emit_error(exc.as_dict() | {"message_full": str(exc)},
                       as_json=getattr(args, "json", False))
            return 1

    return run


def _gg_std(args: argparse.Namespace) -> tuple[float, str]:
    if args.gg_std is not None:
        return float(args.gg_std), "given"
    if args.municipality:
        from gateway.analysis.degree_days import reference_degree_days

        ref = reference_degree_days(args.municipality, args.province)
        return float(ref.degree_days), f"DPR 412/93: {ref.municipality} ({ref.province}), " \
            f"zone {ref.zone}"
    raise AnalysisError("reference degree days needed", input="gg_std",
                        expected="--gg-std N or --municipality NAME")


def baseline(args: argparse.Namespace) -> int:
    if args.method == "ratio":
        from gateway.analysis.inputs import read_seasons
        from gateway.analysis.ratio_baseline import ratio_baseline

        labels, cons, gg, unit = read_seasons(args.input)
        gg_std, source = _gg_std(args)
        fit = ratio_baseline(cons, gg, gg_std, unit=unit, labels=labels, fixed=args.fixed,
                             min_periods=args.min_periods)
        payload: dict[str, Any] = fit.as_dict() | {"reference_source": source}
        if args.json:
            emit_json({"ok": True, **payload})
            return 0
        print_table(f"Ratio-of-sums baseline ({unit})",
                    ("period", "consumption", "degree days", f"{unit}/GG", "normalised"),
                    [(p["label"], p["consumption"], p["degree_days"], p["alpha"],
                      p["normalised"]) for p in payload["periods"]])
        print_kv("Baseline", [("alpha (ΣC/ΣGG)", fit.alpha), ("GG_std", gg_std),
                              ("reference", source), ("fixed uses", fit.fixed),
                              (f"Base_rif [{unit}]", fit.baseline)], digits=2)
        return 0
    from gateway.analysis.inputs import read_temperature, read_usage
    from gateway.analysis.regression import fit_degree_day_model
    from gateway.analysis.stats import g14_check

    if args.temperature is None:
        raise AnalysisError("the regression needs outdoor temperatures", input="temperature",
                            expected="--temperature FILE.csv")
    usage = read_usage(args.input, input="baseline", unit=args.unit)
    temp = read_temperature(args.temperature)
    model = fit_degree_day_model(usage, temp, min_days=args.min_days, **_spreads(args))
    check = g14_check(model.stats)
    if args.json:
        emit_json({"ok": True, **model.as_dict(), "g14": check.as_dict()})
        return 0
    st = model.stats
    print_kv(f"Degree-day regression ({model.granularity}, {model.unit})", [
        ("model", model.model_type), ("intercept per day", model.intercept),
        ("heating balance point °C", model.heating_balance_point),
        ("heating slope per °C·day", model.heating_slope),
        ("cooling balance point °C", model.cooling_balance_point),
        ("cooling slope per °C·day", model.cooling_slope),
        ("within-day temperature spread °C", model.temperature_spread_c),
        ("R²", st.r2), ("adjusted R²", st.adj_r2), ("CV(RMSE) %", 100 * st.cvrmse),
        ("NMBE %", 100 * st.nmbe), ("observations", st.n),
        (f"G14, a year of reporting (CV ≤ {100 * check.cvrmse_limit:g} %, |NMBE| ≤ 0.5 %)",
         check.passed)], digits=3)
    return 0


def _spreads(args: argparse.Namespace) -> dict[str, Any]:
    return {"temperature_spreads": (0.0,)} if args.strict_caltrack else {}


def _adjustments(path: Path | None) -> list[Any]:
    from gateway.analysis.inputs import read_toml
    from gateway.analysis.savings import (
        NonRoutineAdjustment,
        floor_area_adjustment,
        light_points_adjustment,
    )

    if path is None:
        return []
    doc = read_toml(path, input="adjustments")
    out: list[Any] = []
    try:
        for a in doc.get("non_routine", []):
            out.append(NonRoutineAdjustment(str(a["description"]), float(a["value"]),
                                            str(a.get("basis", ""))))
        for a in doc.get("light_points", []):
            out.append(light_points_adjustment(float(a.get("added_kw", 0)),
                                               float(a.get("removed_kw", 0)),
                                               float(a["hours"]),
                                               str(a.get("description", "light points"))))
        for a in doc.get("floor_area", []):
            out.append(floor_area_adjustment(float(a["area_m2"]),
                                             float(a["intensity_per_m2_year"]),
                                             float(a.get("days", 365)),
                                             str(a.get("description", "floor area"))))
    except KeyError as exc:
        raise AnalysisError("key missing", input="adjustments", field=str(exc.args[0]),
                            expected="see docs/ANALYSIS.md, non-routine adjustments") from None
    return out


def savings(args: argparse.Namespace) -> int:
    if args.method == "ratio":
        from gateway.analysis.inputs import read_seasons
        from gateway.analysis.ratio_baseline import ratio_baseline
        from gateway.analysis.savings import ratio_savings

        labels, cons, gg, unit = read_seasons(args.baseline)
        r_labels, r_cons, r_gg, r_unit = read_seasons(args.reporting)
        if r_unit != unit:
            from gateway.analysis.errors import UnitMismatchError

            raise UnitMismatchError("reporting unit differs from the baseline's",
                                    input="reporting", field="unit", value=r_unit,
                                    expected=unit)
        gg_std, _ = _gg_std(args)
        fit = ratio_baseline(cons, gg, gg_std, unit=unit, labels=labels,
                             min_periods=args.min_periods)
        years = [(lab, ratio_savings(fit, c, g)) for lab, c, g in zip(r_labels, r_cons, r_gg,
                                                                       strict=True)]
        if args.json:
            emit_json({"ok": True, "baseline": fit.as_dict(),
                       "reporting": [{"label": lab} | s.as_dict() for lab, s in years]})
            return 0
        print_table(f"Savings against Base_rif = {fit.baseline:,.0f} {unit} at {gg_std:g} GG",
                    ("period", "GG", "Base_norm", "consumption", "avoided", "saving %",
                     "normalised savings"),
                    [(lab, s.degree_days, s.normalised_baseline, s.consumption,
                      s.normalised_baseline - s.consumption, 100 * s.saving_fraction,
                      s.normalised_saving) for lab, s in years])
        return 0
    from gateway.analysis.inputs import read_temperature, read_usage
    from gateway.analysis.regression import fit_degree_day_model
    from gateway.analysis.savings import avoided_energy

    if args.temperature is None:
        raise AnalysisError("the regression needs outdoor temperatures", input="temperature",
                            expected="--temperature FILE.csv")
    base = read_usage(args.baseline, input="baseline", unit=args.unit)
    rep = read_usage(args.reporting, input="reporting", unit=args.unit)
    temp = read_temperature(args.temperature)
    model = fit_degree_day_model(base, temp, min_days=args.min_days, **_spreads(args))
    res = avoided_energy(model, rep, temp, non_routine=_adjustments(args.adjustments),
                         confidence=args.confidence)
    from gateway.analysis.stats import g14_check

    check = g14_check(model.stats, reporting_months=rep.span_days / 30.44)
    if args.json:
        emit_json({"ok": True, "model": model.as_dict(), "g14": check.as_dict(),
                   "savings": res.as_dict()})
        return 0
    u = res.unit
    items: list[tuple[str, Any]] = [
        ("model", f"{model.model_type} ({model.granularity})"),
        (f"adjusted baseline [{u}]", res.adjusted_baseline),
        (f"  of which routine (weather) [{u}]", res.routine_adjustment)]
    items += [(f"  non-routine: {a.description} [{u}]", a.value) for a in res.non_routine]
    items += [(f"reporting consumption [{u}]", res.observed),
              (f"avoided energy [{u}]", res.avoided_energy),
              ("savings %", 100 * res.savings_fraction),
              (f"uncertainty at {100 * res.confidence:g} % [{u}]", res.uncertainty),
              ("FSU % (G14: < 50 % at 68 %)", 100 * res.fsu),
              (f"baseline meets G14 (CV ≤ {100 * check.cvrmse_limit:g} %, |NMBE| ≤ 0.5 %)",
               check.passed)]
    print_kv("Avoided energy (IPMVP option C)", items)
    return 0


def lighting_pmvp(args: argparse.Namespace) -> int:
    from gateway.analysis.settlement_inputs import lighting_from_toml

    results = lighting_from_toml(args.input)
    if args.json:
        emit_json({"ok": True, "municipalities": [{"name": n} | s.as_dict()
                                                  for n, s in results]})
        return 0
    for name, s in results:
        print_kv(f"Public lighting PMVP (seed 002): {name}", [
            ("EEbas, baseline [kWh]", s.ee_bas), ("%off, offered saving %", 100 * s.pct_off),
            ("EEoff = EEbas x (1 - %off) [kWh]", s.ee_off), ("burning hours", s.hours),
            ("light points Δ x hours [kWh]", s.delta_kwh), ("EEagg [kWh]", s.ee_agg),
            ("measured [kWh]", s.ee_measured), ("%acc, ascertained saving %", 100 * s.pct_acc),
            ("offer met", s.offer_met), ("EXS above the 2 % deductible [€]", s.exs_eur),
            ("  to the municipality (fee reduction) [€]", s.exs_municipality_eur),
            ("  to the concessionaire [€]", s.exs_concessionaire_eur),
            ("shortfall [kWh] (fee cut per Capitolato art. 39)", s.shortfall_kwh),
            ("Cpsup, supervisor fee [€]", s.cpsup_eur)], digits=2)
    return 0


def epc(args: argparse.Namespace) -> int:
    from gateway.analysis.settlement_inputs import epc_from_toml

    results, base_rif, unit = epc_from_toml(args.input)
    if args.json:
        emit_json({"ok": True, "base_rif": base_rif, "unit": unit,
                   "years": [{"label": lab} | s.as_dict() for lab, s in results]})
        return 0
    for lab, s in results:
        print_kv(f"EPC (seed 004) {lab}: Base_rif {base_rif:,.0f} {unit} at {s.gg_std:g} GG", [
            ("GG of the year", s.gg_i), (f"Base_norm [{unit}]", s.base_norm),
            (f"consumption [{unit}]", s.consumption), ("saving %", 100 * s.saving),
            ("guarantee met", s.saving >= s.guaranteed), ("Quota_comb [€]", s.quota_comb),
            ("rebate to the client [€]", s.rebate), ("penalty [€]", s.penalty),
            ("energy remuneration [€]", s.energy_remuneration),
            ("conduction [€]", s.conduction), ("annual remuneration [€]", s.remuneration)],
            digits=2)
    return 0


def bands(args: argparse.Namespace) -> int:
    from gateway.analysis.bands_baseline import band_baseline
    from gateway.analysis.inputs import read_bands

    base = band_baseline(read_bands(args.input))
    if args.json:
        emit_json({"ok": True, **base.as_dict()})
        return 0
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")
    rows = [(months[m - 1], *(base.month(m)[k] for k in ("F1", "F2", "F3", "total")))
            for m in range(1, 13)]
    totals = base.band_totals
    rows.append(("Total", totals["F1"], totals["F2"], totals["F3"], base.total))
    print_table(f"Electric baseline by month and band, mean of {list(base.years)} [kWh]",
                ("month", "F1", "F2", "F3", "total"), rows, digits=0)
    return 0
