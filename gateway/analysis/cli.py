"""`meterkit analyze`: baselines, savings and contract settlements on CSV/TOML inputs.

Only argparse wiring and help texts live here; handlers are in gateway.analysis.commands
and import numpy and rich only when they run, so `meterkit --help` stays instant. The
finance, benchmark and CER subcommands come from gateway.analysis.economics_cli when that
module is installed.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

__all__ = ["register"]

EX = "gateway/analysis/examples"
FMT = argparse.RawDescriptionHelpFormatter

ANALYZE_EPILOG = f"""\
Inputs: CSV with a header row, timestamps ISO 8601 with a UTC offset
(2024-01-01T00:00:00+01:00), values in kWh, Smc or m3 with the unit declared; settlements
in TOML. Formats and worked examples: docs/ANALYSIS.md. Add --json for machine output.

Examples (files shipped in {EX}/):
  meterkit analyze baseline --method ratio {EX}/genova_seasons.csv --gg-std 921
  meterkit analyze baseline {EX}/usage_baseline.csv --temperature {EX}/temperature_daily.csv
  meterkit analyze savings --baseline {EX}/usage_baseline.csv \\
      --reporting {EX}/usage_reporting.csv --temperature {EX}/temperature_daily.csv
  meterkit analyze lighting-pmvp {EX}/lighting_chiari.toml
  meterkit analyze epc {EX}/epc_lodi.toml --json
  meterkit analyze bands {EX}/genova_bands_2014_2016.csv
"""

BASELINE_EPILOG = f"""\
--method regression (default): usage CSV start,end,value,unit (daily rows or bills) plus
  --temperature CSV timestamp,temperature_c (hourly or daily). CalTRACK rules: balance
  points -1..32 °C, candidates intercept/HDD/CDD/HDD+CDD, slopes p < 0.1, best adjusted R²,
  a 365-day baseline with >= 90 % of days covered (--min-days to change the span).
--method ratio: seasons CSV label,consumption,degree_days,unit; Base_rif = ΣC/ΣGG x GG_std
  (seeds 003 and 004), GG_std from --gg-std or --municipality (DPR 412/93 table).

Examples:
  meterkit analyze baseline --method ratio {EX}/genova_seasons.csv --gg-std 921
      seed 003 Table 5.4: alpha 462.7 kWh/GG, Base_rif 426,182 kWh (document: 426,406)
  meterkit analyze baseline --method ratio seasons.csv --municipality Lodi --min-periods 3
  meterkit analyze baseline {EX}/usage_baseline.csv --temperature {EX}/temperature_daily.csv
"""

SAVINGS_EPILOG = f"""\
Avoided energy = adjusted baseline (+ non-routine adjustments) - reporting consumption,
with ASHRAE Guideline 14's fractional savings uncertainty at --confidence.
Non-routine adjustments (TOML, --adjustments):
  [[non_routine]]   description = "new gym"   value = 12000   basis = "250 m2 x 48 kWh/m2"
  [[light_points]]  added_kw = 1.2   removed_kw = 0.4   hours = 4110
  [[floor_area]]    area_m2 = 250    intensity_per_m2_year = 48   days = 365
--method ratio: seed 004's yearly check, Risparmio_i = 1 - C_i / (Base_rif x GG_i / GG_std),
  with baseline and reporting seasons CSVs.

Examples:
  meterkit analyze savings --baseline {EX}/usage_baseline.csv \\
      --reporting {EX}/usage_reporting.csv --temperature {EX}/temperature_daily.csv \\
      --adjustments {EX}/adjustments.toml --confidence 0.9
  meterkit analyze savings --method ratio --baseline {EX}/lodi_seasons.csv \\
      --reporting {EX}/lodi_reporting.csv --municipality Lodi
"""

LIGHTING_EPILOG = f"""\
Seed 002: EEoff = EEbas x (1 - %off); EEagg = EEoff + Σ(kW added - kW removed) x hours;
%acc = (EEbas + ΔE - measured) / EEbas; EXS = (%acc - %off - 2 %) x EEagg x PErif, half to
the municipality; Cpsup = PErif x EEbas x %off x 3.5 %. Hours: year = 2024 (4,110 h or
4,122 h 41 min in leap years), hours = N, or burning_log = "log.csv" (on,off columns).

Example:
  meterkit analyze lighting-pmvp {EX}/lighting_chiari.toml
"""

EPC_EPILOG = f"""\
Seed 004 Annex 8, with the rebate and penalty multiplied by Base_norm (the document's
formulas give € per Sm3 otherwise): guaranteed 30 %, client 20 % of the guaranteed saving
and 50 % beyond it, penalty = shortfall x Base_norm x fuel price. Base_rif from
[[baseline_season]] tables (at least 3) or base_rif = N.

Example:
  meterkit analyze epc {EX}/epc_lodi.toml
"""

BANDS_EPILOG = f"""\
Seed 003 Table 5.8: each month's F1/F2/F3 baseline is the mean of that month and band over
complete reference years. CSV columns year,month,F1,F2,F3 (kWh).

Example:
  meterkit analyze bands {EX}/genova_bands_2014_2016.csv --json
"""


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _fit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unit", help="unit of every row when the CSV has no unit column")
    p.add_argument("--min-days", type=int, default=365, help="baseline span (default 365)")
    p.add_argument("--strict-caltrack", action="store_true",
                   help="regression: degree days of the daily mean only (CalTRACK 2.0 exactly), "
                        "without the within-day temperature spread search (ADR 014)")


def _reference(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gg-std", type=float, help="reference degree days, e.g. 2592 (Lodi)")
    p.add_argument("--municipality", help="take GG_std from DPR 412/93, e.g. Lodi")
    p.add_argument("--province", help="province code when the name is ambiguous, e.g. BG")
    p.add_argument("--min-periods", type=int, default=1,
                   help="minimum baseline seasons (seed 004's contract asks for 3)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `analyze` and its subcommands to the `meterkit` parser."""
    from gateway.analysis import commands as c

    analyze = subparsers.add_parser(
        "analyze", help="baselines, savings, settlements, finance, CER",
        description="Baselines and savings (IPMVP), public-lighting and EPC settlements.",
        epilog=ANALYZE_EPILOG, formatter_class=FMT)
    sub = analyze.add_subparsers(dest="analysis", metavar="ANALYSIS")
    analyze.set_defaults(handler=lambda _a: (analyze.print_help(), 2)[1])

    p = sub.add_parser("baseline", help="fit a degree-day baseline (regression or ratio)",
                       description="Fit a baseline from consumption and weather.",
                       epilog=BASELINE_EPILOG, formatter_class=FMT)
    p.add_argument("input", type=Path, help="usage CSV (regression) or seasons CSV (ratio)")
    p.add_argument("--method", choices=("regression", "ratio"), default="regression")
    p.add_argument("--temperature", type=Path, help="outdoor temperature CSV (regression)")
    _fit_options(p)
    p.add_argument("--fixed", type=float, default=0.0,
                   help="ratio: yearly use not driven by degree days (seed 003 Q_ACS+Q_ALTRO)")
    _reference(p)
    _json(p)
    p.set_defaults(handler=c.guarded(c.baseline))

    p = sub.add_parser("savings", help="avoided energy, savings %% and uncertainty",
                       description="Savings of a reporting period against a baseline.",
                       epilog=SAVINGS_EPILOG, formatter_class=FMT)
    p.add_argument("--baseline", type=Path, required=True, help="baseline usage/seasons CSV")
    p.add_argument("--reporting", type=Path, required=True, help="reporting usage/seasons CSV")
    p.add_argument("--method", choices=("regression", "ratio"), default="regression")
    p.add_argument("--temperature", type=Path, help="temperature CSV covering both periods")
    p.add_argument("--adjustments", type=Path, help="non-routine adjustments TOML")
    p.add_argument("--confidence", type=float, default=0.68,
                   help="confidence of the uncertainty (default 0.68, Guideline 14)")
    _fit_options(p)
    _reference(p)
    _json(p)
    p.set_defaults(handler=c.guarded(c.savings))

    p = sub.add_parser("lighting-pmvp", help="public-lighting PMVP settlement (seed 002)",
                       description="EEoff, EEagg, %%acc, extra saving and supervisor fee.",
                       epilog=LIGHTING_EPILOG, formatter_class=FMT)
    p.add_argument("input", type=Path, help="settlement TOML")
    _json(p)
    p.set_defaults(handler=c.guarded(c.lighting_pmvp))

    p = sub.add_parser("epc", help="energy-performance contract settlement (seed 004)",
                       description="Saving %%, rebate, penalty and annual remuneration.",
                       epilog=EPC_EPILOG, formatter_class=FMT)
    p.add_argument("input", type=Path, help="contract TOML")
    _json(p)
    p.set_defaults(handler=c.guarded(c.epc))

    p = sub.add_parser("bands", help="electric baseline by month and F1/F2/F3 band",
                       description="Mean of reference years per month and band.",
                       epilog=BANDS_EPILOG, formatter_class=FMT)
    p.add_argument("input", type=Path, help="CSV year,month,F1,F2,F3")
    _json(p)
    p.set_defaults(handler=c.guarded(c.bands))

    _register_economics(sub)


def _register_economics(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    name = "gateway.analysis.economics_cli"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return
    module.register_economics(sub)
