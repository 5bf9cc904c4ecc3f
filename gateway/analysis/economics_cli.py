"""`meterkit analyze finance|benchmark|cer`: the economics functions on TOML/CSV inputs."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tomllib
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = ["register_economics"]

FINANCE_EPILOG = """\
Input (TOML), one [[measure]] per measure:
  [[measure]]
  name = "boiler"            investment = 161550     life_years = 20
  annual_savings = 26861     maintenance_change = 1750
  energy_escalation = 0.0    inflation = 0.0         energy_saved_kwh = 310000
  [[measure.tax_deduction]]  eligible_cost = 100000  rate = 0.55  cap = 30000  years = 10
  [[measure.incentive]]      name = "tee"  annual_amount = 1895  years = 7  annual_change = -0.01
  [financing]                debt_share = 0.8  loan_rate = 0.0382  loan_years = 15  (optional)
Example:
  meterkit analyze finance gateway/analysis/examples/finance_measures.toml --rate 0.04
"""

BENCHMARK_EPILOG = """\
Input (CSV with a header): name,category,floor_area_m2,energy_kwh and optionally
heated_volume_m3,degree_days,reference_degree_days,building_type,year_built
(building_type: detached_1_2_units, small_block_3_15_units, block_16_30_units,
tower_31_plus_units — seed 004's reference table).
Example:
  meterkit analyze benchmark gateway/analysis/examples/benchmark_buildings.csv --json
"""

CER_EPILOG = """\
Inputs: a community TOML ([[plant]] id, kw, commissioned = 2025-03-01, region, pv,
capital_grant; zonal_price_eur_mwh; arera_refund_eur_mwh; members) and two CSV files of
quarter-hour energy with columns timestamp,id,kwh (ISO 8601 with offset, e.g.
2026-06-01T12:00:00+02:00): production fed in per plant, withdrawals per member.
Example:
  meterkit analyze cer gateway/analysis/examples/cer_community.toml \\
      --fed-in gateway/analysis/examples/cer_fed_in.csv \\
      --withdrawn gateway/analysis/examples/cer_withdrawn.csv
"""


class InputError(Exception):
    """A problem in an input file: `where` is file and key/row, `hint` what to do."""


def register_economics(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("finance", help="NPV, IRR, paybacks, PI, CCE, DSCR/LLCR of measures",
                       description="Cash-flow evaluation of efficiency measures.",
                       epilog=FINANCE_EPILOG, formatter_class=fmt)
    p.add_argument("input", type=Path, help="TOML file of measures")
    p.add_argument("--rate", type=float, default=0.04,
                   help="discount rate, e.g. 0.04 for 4 %% (default: 0.04, seed 003 WACC)")
    p.add_argument("--timing", choices=("end", "mid"), default="end",
                   help="yearly flows at end of year (default) or mid-year")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_guard(_finance))

    p = sub.add_parser("benchmark", help="energy intensity per m² and m³·GG, fleet ranking",
                       description="Benchmark buildings against references and each other.",
                       epilog=BENCHMARK_EPILOG, formatter_class=fmt)
    p.add_argument("input", type=Path, help="CSV of buildings")
    p.add_argument("--key", default="kwh_per_m2",
                   choices=("kwh_per_m2", "kwh_per_m2_normalised", "wh_per_m3_gg"),
                   help="indicator used for the ranking (default: kwh_per_m2)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_guard(_benchmark))

    p = sub.add_parser("cer", help="energy-community shared energy, incentives and KPIs",
                       description="Hourly shared energy of a CER and its incentive estimate.",
                       epilog=CER_EPILOG, formatter_class=fmt)
    p.add_argument("community", type=Path, help="community TOML")
    p.add_argument("--fed-in", type=Path, required=True, help="CSV: timestamp,id,kwh per plant")
    p.add_argument("--withdrawn", type=Path, required=True,
                   help="CSV: timestamp,id,kwh per member")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_guard(_cer))


def _guard(fn):  # type: ignore[no-untyped-def]
    """Turn every input problem into one clear line on stderr and exit code 1."""

    def handler(args: argparse.Namespace) -> int:
        # imported here so that building the `meterkit` parser never loads numpy
        from gateway.analysis.benchmark import BenchmarkError
        from gateway.analysis.cer import CerError
        from gateway.analysis.finance import FinanceError

        try:
            return fn(args)
        except (InputError, FinanceError, BenchmarkError, CerError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
            return 1
        except tomllib.TOMLDecodeError as exc:
            print(f"error: {args.__dict__.get('input') or args.community}: {exc}",
                  file=sys.stderr)
            return 1

    return handler


def _load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _need(table: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in table:
        raise InputError(f"{where}.{key}: missing (see --help for the input format)")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"{where}.{key}: {value!r} has the wrong type (expected a number)")
    return value


def _finance(args: argparse.Namespace) -> int:
    from gateway.analysis.finance import Incentive, Measure, evaluate, tax_deduction
    from gateway.analysis.financing import coverage_ratios

    doc = _load_toml(args.input)
    measures = doc.get("measure")
    if not isinstance(measures, list) or not measures:
        raise InputError(f"{args.input}: no [[measure]] tables (see --help)")
    results = []
    for i, m in enumerate(measures):
        where = f"{args.input}:measure[{i}]"
        num = (int, float)
        incentives = [Incentive(str(inc.get("name", "incentive")),
                                float(_need(inc, "annual_amount", where + ".incentive", num)),
                                int(_need(inc, "years", where + ".incentive", int)),
                                int(inc.get("start_year", 1)), float(inc.get("annual_change", 0)))
                      for inc in m.get("incentive", [])]
        incentives += [
            tax_deduction(float(_need(d, "eligible_cost", where + ".tax_deduction", num)),
                          rate=float(d.get("rate", 0.55)), cap=d.get("cap"),
                          years=int(d.get("years", 10)))
            for d in m.get("tax_deduction", [])]
        measure = Measure(
            name=str(m.get("name", f"measure {i + 1}")),
            investment=float(_need(m, "investment", where, num)),
            life_years=int(_need(m, "life_years", where, int)),
            annual_savings=float(_need(m, "annual_savings", where, num)),
            maintenance_change=float(m.get("maintenance_change", 0.0)),
            energy_escalation=float(m.get("energy_escalation", 0.0)),
            inflation=float(m.get("inflation", 0.0)),
            incentives=tuple(incentives),
            energy_saved_kwh=m.get("energy_saved_kwh"),
        )
        result = evaluate(measure, args.rate, timing=args.timing)
        financing = doc.get("financing")
        if financing:
            principal = measure.investment * float(financing.get("debt_share", 1.0))
            result["financing"] = coverage_ratios(
                result["flows"][1:], principal, float(_need(financing, "loan_rate", "financing",
                                                            num)),
                int(_need(financing, "loan_years", "financing", int)),
                min_dscr=float(financing.get("min_dscr", 1.2)))
        results.append(result)
    if args.json:
        print(json.dumps({"discount_rate": args.rate, "measures": results}, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Measures at {args.rate:.2%} ({args.timing} of year)")
    for col in ("measure", "I0 €", "NPV €", "IRR", "payback", "disc. payback", "PI"):
        table.add_column(col, justify="right" if col != "measure" else "left")
    for r in results:
        table.add_row(r["measure"], f"{r['investment']:,.0f}", f"{r['npv']:,.0f}",
                      f"{r['irr']:.2%}" if r["irr"] is not None else r["irr_status"],
                      _years(r["payback_simple"]), _years(r["payback_discounted"]),
                      f"{r['profitability_index']:.2f}")
    console = Console()
    console.print(table)
    for r in results:
        if r["irr_note"]:
            console.print(f"{r['measure']}: {r['irr_note']}")
    console.print(f"[dim]{results[0]['conventions']}[/dim]")
    return 0


def _years(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} y"


def _benchmark(args: argparse.Namespace) -> int:
    from gateway.analysis.benchmark import Building, rank_fleet

    buildings = []
    with args.input.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            where = f"{args.input}:{line}"
            try:
                buildings.append(Building(
                    name=row["name"], category=row["category"],
                    floor_area_m2=float(row["floor_area_m2"]), energy_kwh=float(row["energy_kwh"]),
                    heated_volume_m3=_opt_float(row.get("heated_volume_m3")),
                    degree_days=_opt_float(row.get("degree_days")),
                    reference_degree_days=_opt_float(row.get("reference_degree_days")),
                    building_type=row.get("building_type") or None,
                    year_built=int(row["year_built"]) if row.get("year_built") else None,
                ))
            except KeyError as exc:
                raise InputError(f"{where}: column {exc} missing (see --help)") from None
            except ValueError as exc:
                raise InputError(f"{where}: {exc} (numbers use a dot as decimal mark)") from None
    rows = rank_fleet(buildings, key=args.key)
    if args.json:
        print(json.dumps({"key": args.key, "buildings": rows}))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Benchmark by {args.key} (rank 1 = most efficient in its category)")
    for col in ("building", "category", args.key, "rank", "percentile", "reference kWh/m²"):
        table.add_column(col)
    for r in rows:
        ref = r["reference_kwh_per_m2"]
        table.add_row(str(r["building"]), str(r["category"]), f"{r[args.key]:.1f}",
                      f"{r['rank']}/{r['of']}", f"{r['percentile']:.0f}",
                      "" if ref is None else f"{ref:.0f}")
    Console().print(table)
    return 0


def _opt_float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def _read_series(path: Path) -> dict[str, list[tuple[datetime, float]]]:
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                ts = datetime.fromisoformat(row["timestamp"])
                series[row["id"]].append((ts, float(row["kwh"])))
            except KeyError as exc:
                raise InputError(
                    f"{path}:{line}: column {exc} missing (timestamp,id,kwh)") from None
            except ValueError as exc:
                raise InputError(f"{path}:{line}: {exc}") from None
    return series


def _cer(args: argparse.Namespace) -> int:
    from gateway.analysis.cer import Plant, evaluate

    doc = _load_toml(args.community)
    plants = []
    for i, p in enumerate(doc.get("plant", [])):
        where = f"{args.community}:plant[{i}]"
        commissioned = p.get("commissioned")
        if not isinstance(commissioned, date):
            raise InputError(f"{where}.commissioned: {commissioned!r} (expected a TOML date, "
                             "e.g. commissioned = 2025-03-01)")
        plants.append(Plant(str(_need(p, "id", where, str)), float(_need(p, "kw", where,
                                                                         (int, float))),
                            commissioned, str(p.get("region", "")), bool(p.get("pv", True)),
                            float(p.get("capital_grant", 0.0))))
    result = evaluate(
        _read_series(args.fed_in), _read_series(args.withdrawn), plants,
        zonal_price=float(_need(doc, "zonal_price_eur_mwh", str(args.community), (int, float))),
        arera_refund_eur_mwh=float(_need(doc, "arera_refund_eur_mwh", str(args.community),
                                         (int, float))),
        members_count=len(doc.get("members", [])) or None,
    )
    if args.json:
        print(json.dumps(result, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"CER {doc.get('name', args.community.stem)}: {result['hours']} hours")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for label, key, fmt in (("fed in", "fed_in_kwh", "{:,.1f} kWh"),
                            ("withdrawn", "withdrawn_kwh", "{:,.1f} kWh"),
                            ("shared", "shared_kwh", "{:,.1f} kWh"),
                            ("self-consumption (shared/fed in)", "self_consumption_ratio",
                             "{:.1%}"),
                            ("self-sufficiency (shared/withdrawn)", "self_sufficiency_ratio",
                             "{:.1%}"),
                            ("premium tariff", "premium_eur", "{:,.2f} €"),
                            ("ARERA refund", "arera_refund_eur", "{:,.2f} €")):
        table.add_row(label, fmt.format(result[key]))
    console = Console()
    console.print(table)
    rule = result["excess_rule"]
    if rule["exceeded"]:
        console.print(f"[yellow]shared/fed-in {rule['shared_over_fed_in']:.1%} exceeds "
                      f"{rule['threshold']:.0%}: {rule['excess_premium_eur']:,.2f} € of premium "
                      f"must go to non-business members or social purposes[/yellow]")
    return 0
