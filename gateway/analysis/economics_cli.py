"""`meterkit analyze finance|benchmark|cer`: the economics functions on TOML/CSV inputs."""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["register_economics"]

EX = "gateway/analysis/examples"

FINANCE_EPILOG = f"""\
Flows: F0 = -I0; Fy = savings x (1+energy_escalation)^(y-1) - maintenance_change x
(1+inflation)^(y-1) + incentives paid in year y, for y = 1..life_years.
NPV = sum Fy / (1+i)^t (t = y, or y - 0.5 with --timing mid); IRR: NPV = 0 (none or several
roots: no number, a reason); TRS / TRA: fractional years where the cumulative (discounted)
flows turn >= 0; IP = NPV / I0; CCE = (I0 x CRF(i, n) + maintenance) / kWh saved per year,
CRF = i / (1 - (1+i)^-n). WACC = Kd x D/(D+E) x (1 - tax) + Ke x E/(D+E) (seed 003).
Financing: annuity = P x r / (1 - (1+r)^-n); DSCR_y = Fy / annuity; LLCR = PV(Fy, r) / P.

Input (TOML), one [[measure]] per measure:
  [[measure]]
  name = "boiler"            investment = 161550     life_years = 20
  annual_savings = 26861     maintenance_change = 1750
  energy_escalation = 0.0    inflation = 0.0
  energy_saved_kwh = 310000  (or per carrier: energy_saved_kwh = {{ natural_gas = 250000,
                              electricity = 60000 }} -> CO2 and primary energy avoided)
  [[measure.tax_deduction]]  eligible_cost = 100000  rate = 0.55  cap = 30000  years = 10
  [[measure.conto_termico]]  eligible_cost = 70739   share = 0.4  years = 5
  [[measure.incentive]]      name = "tee"  annual_amount = 1895  years = 7  annual_change = -0.01
  [financing]  debt_share = 0.8  loan_rate = 0.0382  loan_years = 15  min_dscr = 1.2
               cost_of_equity = 0.09  tax_rate = 0.279   (optional: discount at the WACC)
  [factors.co2_kg_per_kwh]   electricity = 0.467   (optional overrides, docs/ANALYSIS.md)
Incentives are paid from start_year (>= 1) and must end within life_years.
Examples:
  meterkit analyze finance {EX}/finance_measures.toml --rate 0.03
  meterkit analyze finance {EX}/finance_genova_scenario1.toml --json
"""

BENCHMARK_EPILOG = f"""\
kWh/m2 = energy / floor area; normalised kWh/m2 = kWh/m2 x GG_ref / GG_period;
Wh/(m3 GG) = 1000 x energy / (heated volume x GG_period). Deviation from the reference =
kWh/m2 / reference kWh/m2 (1.20 = 20 % above seed 004's table). Percentile = share of the other
buildings of the category that use less per unit (0 = best).

Input (CSV with a header): name,category,floor_area_m2 and either energy_kwh (a yearly total)
or usage (a usage CSV start,end,value,unit as for `analyze baseline`, path relative to this
file: summed to kWh, Smc at 9.42 kWh/Smc PCI), plus optionally heated_volume_m3, degree_days,
temperature (a temperature CSV timestamp,temperature_c: degree days at 20 C over the zone's
heating season), zone, reference_degree_days, building_type, year_built
(building_type: detached_1_2_units, small_block_3_15_units, block_16_30_units,
tower_31_plus_units - seed 004's reference table).
Examples:
  meterkit analyze benchmark {EX}/benchmark_buildings.csv --json
  meterkit analyze benchmark {EX}/benchmark_monitored.csv --key wh_per_m3_gg
"""

CER_EPILOG = f"""\
Each hour h: shared_h = min(sum of fed in_h, sum of withdrawn_h), each after summing its four
quarter hours; allocated to plants oldest first. Premium (plants commissioned on or after
tariff.premium_from, default 2021-12-16): TIP = min(cap, base + max(0, 180 - Pz)) + bonus,
x (1 - F) with a capital grant; refund = shared x arera_refund_eur_mwh. Every plant and member
needs the quarter hours :00 :15 :30 :45 of every hour from the first to the last hour.

Inputs: a community TOML (name; zonal_price_eur_mwh; arera_refund_eur_mwh; members = [ids];
[[plant]] id, kw, commissioned = 2025-03-01, region, pv, capital_grant; optional [tariff]
overrides: bands, pz_reference, bonus_north, bonus_centre, excess_threshold,
excess_threshold_with_grant, max_grant_reduction, max_grant, premium_from, existing_kw_limit)
and two CSV files of quarter-hour energy with columns timestamp,id,kwh (ISO 8601 with offset,
e.g. 2026-06-01T12:00:00+02:00): production fed in per plant, withdrawals per member.
Example:
  meterkit analyze cer {EX}/cer_community.toml \\
      --fed-in {EX}/cer_fed_in.csv --withdrawn {EX}/cer_withdrawn.csv
"""

Handler = Callable[[argparse.Namespace], int]


def register_economics(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("finance", help="NPV, IRR, paybacks, PI, CCE, DSCR/LLCR of measures",
                       description="Cash-flow evaluation of efficiency measures.",
                       epilog=FINANCE_EPILOG, formatter_class=fmt)
    p.add_argument("input", type=Path, help="TOML file of measures")
    p.add_argument("--rate", type=float, default=None,
                   help="discount rate, e.g. 0.04 for 4 %% (default: the WACC of [financing] "
                        "when it has cost_of_equity and tax_rate, else 0.04, seed 003's WACC)")
    p.add_argument("--timing", choices=("end", "mid"), default="end",
                   help="yearly flows at end of year (default) or mid-year (t - 0.5)")
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


def _guard(fn: Handler) -> Handler:
    """Every input problem becomes exit status 1 and the structured error (text or JSON)."""

    def handler(args: argparse.Namespace) -> int:
        # imported here so that building the `meterkit` parser never loads numpy
        from gateway.analysis.errors import AnalysisError
        from gateway.analysis.render import emit_error

        try:
            return fn(args)
        except AnalysisError as exc:
            err = exc
        except OSError as exc:
            err = AnalysisError("cannot read the file", input=str(exc.filename),
                                value=exc.strerror, hint="check the path and permissions")
        except tomllib.TOMLDecodeError as exc:
            path = getattr(args, "input", None) or args.community
            err = AnalysisError(f"not valid TOML: {exc}", input=str(path),
                                hint="see --help for the input format")
        except UnicodeDecodeError as exc:
            path = getattr(args, "input", None) or getattr(args, "community", None)
            err = AnalysisError(f"not UTF-8 text (byte {exc.start})", input=str(path),
                                hint="save the file as UTF-8 (in a spreadsheet: CSV UTF-8)")
        emit_error(err.as_dict() | {"message_full": str(err)}, as_json=args.json)
        return 1

    return handler


def _load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _finance(args: argparse.Namespace) -> int:
    from gateway.analysis.finance import evaluate
    from gateway.analysis.finance_inputs import read_finance
    from gateway.analysis.financing import coverage_ratios, wacc
    from gateway.analysis.render import emit_json, print_table

    data = read_finance(_load_toml(args.input), args.input)
    fin = data.financing
    wacc_value = None
    if fin and fin.cost_of_equity is not None and fin.tax_rate is not None:
        wacc_value = wacc(fin.loan_rate, fin.cost_of_equity, fin.debt_share, fin.tax_rate)
    rate, source = (args.rate, "--rate") if args.rate is not None else (
        (wacc_value, "WACC of [financing]") if wacc_value is not None else (0.04, "default"))
    results = []
    for measure in data.measures:
        result = evaluate(measure, rate, timing=args.timing, factors=data.factors)
        if fin:
            result["financing"] = coverage_ratios(
                result["flows"][1:], measure.investment * fin.debt_share,  # type: ignore[index]
                fin.loan_rate, fin.loan_years, min_dscr=fin.min_dscr)
        results.append(result)
    if args.json:
        emit_json({"ok": True, "discount_rate": rate, "discount_rate_source": source,
                   "wacc": wacc_value, "timing": args.timing,
                   "conventions": results[0]["conventions"], "measures": results})
        return 0
    print_table(f"Measures at {rate:.2%} ({source}, {args.timing} of year)",
                ("measure", "I0 €", "NPV €", "IRR", "payback y", "disc. payback y", "PI"),
                [(r["measure"], r["investment"], r["npv"],
                  f"{r['irr']:.2%}" if r["irr"] is not None else f"none ({r['irr_status']})",
                  r["payback_simple"], r["payback_discounted"], r["profitability_index"])
                 for r in results], digits=2)
    for r in results:
        if r["irr_note"]:
            print(f"{r['measure']}: {r['irr_note']}")
        if "financing" in r:
            f = r["financing"]
            print(f"{r['measure']}: instalment {f['payment']:,.0f} €/yr, DSCR min "  # type: ignore[index]
                  f"{f['dscr_min']:.2f} mean {f['dscr_mean']:.2f}, LLCR {f['llcr']:.2f}; "  # type: ignore[index]
                  f"years below {f['min_dscr']}: {f['years_below_min_dscr'] or 'none'}")  # type: ignore[index]
        if "avoided" in r:
            a = r["avoided"]
            print(f"{r['measure']}: avoids {a['co2_kg']:,.0f} kg CO2 and "  # type: ignore[index]
                  f"{a['primary_energy_kwh']:,.0f} kWh primary energy per year")  # type: ignore[index]
    if wacc_value is not None:
        print(f"WACC = {wacc_value:.3%}")
    print(results[0]["conventions"])
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from gateway.analysis.benchmark import rank_fleet
    from gateway.analysis.benchmark_inputs import read_buildings
    from gateway.analysis.render import emit_json, print_table

    rows = rank_fleet(read_buildings(args.input), key=args.key)
    if args.json:
        emit_json({"ok": True, "key": args.key, "buildings": rows})
        return 0
    print_table(f"Benchmark by {args.key} (rank 1 = most efficient in its category)",
                ("building", "category", args.key, "rank", "percentile", "reference kWh/m²",
                 "vs reference"),
                [(r["building"], r["category"], r[args.key], f"{r['rank']}/{r['of']}",
                  r["percentile"], r["reference_kwh_per_m2"], r["ratio_to_reference"])
                 for r in rows], digits=2)
    return 0


def _cer(args: argparse.Namespace) -> int:
    from gateway.analysis.cer import evaluate
    from gateway.analysis.cer_config import parse_members, parse_plants, parse_price, parse_tariff
    from gateway.analysis.cer_inputs import read_series
    from gateway.analysis.errors import AnalysisError
    from gateway.analysis.render import emit_json, print_kv

    doc = _load_toml(args.community)
    problems: list[str] = []
    known = {"name", "zonal_price_eur_mwh", "arera_refund_eur_mwh", "members", "plant", "tariff"}
    problems += [f"{k}: unknown key (known: {', '.join(sorted(known))})"
                 for k in sorted(set(doc) - known)]
    zonal = parse_price(doc, "zonal_price_eur_mwh", "", problems)
    refund = parse_price(doc, "arera_refund_eur_mwh", "", problems)
    plants = parse_plants(doc.get("plant"), "plant", problems)
    members = parse_members(doc.get("members"), "members", problems)
    rules = parse_tariff(doc.get("tariff"), "tariff", problems)
    if problems:
        first = problems[0].split(":", 1)[0]
        raise AnalysisError("; ".join(problems), input=str(args.community), field=first,
                            hint="see `meterkit analyze cer --help` for the community file")
    result = evaluate(read_series(args.fed_in, "fed_in"), read_series(args.withdrawn,
                                                                      "withdrawn"),
                      plants, zonal_price=zonal, arera_refund_eur_mwh=refund, rules=rules,
                      members=members)
    if args.json:
        emit_json({"ok": True, "community": doc.get("name", args.community.stem), **result})
        return 0
    print_kv(f"CER {doc.get('name', args.community.stem)}: {result['hours']} hours from "
             f"{result['first_hour']}", [
                 ("fed in kWh", result["fed_in_kwh"]),
                 ("withdrawn kWh", result["withdrawn_kwh"]),
                 ("shared kWh", result["shared_kwh"]),
                 ("self-consumption (shared/fed in) %", 100 * result["self_consumption_ratio"]),
                 ("self-sufficiency (shared/withdrawn) %",
                  100 * result["self_sufficiency_ratio"]),
                 ("premium tariff €", result["premium_eur"]),
                 ("ARERA refund €", result["arera_refund_eur"])], digits=2)
    for pid, p in result["per_plant"].items():  # type: ignore[attr-defined]
        note = "premium" if p["premium_eligible"] else \
            f"refund only (commissioned before {result['premium_from']})"
        print(f"{pid}: shared {p['shared_kwh']:,.2f} kWh, premium {p['premium_eur']:,.2f} € "
              f"- {note}")
    rule = result["excess_rule"]
    if rule["exceeded"]:  # type: ignore[index]
        print(f"shared/fed-in {rule['shared_over_fed_in']:.1%} exceeds "  # type: ignore[index]
              f"{rule['threshold']:.0%}: {rule['excess_premium_eur']:,.2f} € of premium "  # type: ignore[index]
              "must go to non-business members or social purposes")
    return 0
