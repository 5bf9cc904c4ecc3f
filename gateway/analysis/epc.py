"""Energy-performance contract settlement (seed 004, §5.4 and Annexes 4 and 8).

    Base_norm,i = Base_rif * GG_i / GG_std                         [Sm³]
    R_i         = 1 - C_i / Base_norm,i                            saving of year i
    Quota_comb  = Base_norm,i * C_comb                             [€]
    rebate      = share(R_i) * Base_norm,i * C_comb                [€]  "scorporo" to the client
        share(R) = q_g * max(R, 0)                        if R <= R_g
                 = q_g * R_g + q_x * (R - R_g)            if R >  R_g
    penalty     = (R_g - R_i) * Base_norm,i * C_comb  if R_i < R_g [€]
    energy      = Quota_comb - rebate - penalty
    conduction  = C_cond,rif * CMDO_i / CMDO_rif - conduction penalties
    remuneration = energy + conduction
with R_g = 30 %, q_g = 20 % (client's share of the guaranteed saving, ESCo 80 %) and
q_x = 50 % (client's share of the saving beyond the guarantee, ESCo 50 %) in the Lodi case.

Resolved defect: the document writes rebate and penalty as a percentage times C_comb
(€/Sm³), which is not an amount of money; the factor Base_norm,i (Sm³) is what turns the
saving share into a volume, exactly as Quota_comb uses it. A negative saving (consumption
above the normalised baseline) gives the client no rebate (a negative share would make the
client pay for the ESCo's shortfall); the penalty then covers the whole gap to R_g.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gateway.analysis.errors import AnalysisError

__all__ = ["EpcSettlement", "epc_settlement"]


@dataclass(frozen=True, slots=True)
class EpcSettlement:
    """One contract year; amounts in € (VAT excluded), volumes in the baseline unit."""

    base_rif: float
    gg_std: float
    gg_i: float
    consumption: float
    fuel_price: float
    guaranteed: float
    client_share_guaranteed: float
    client_share_extra: float
    conduction: float
    unit: str

    @property
    def base_norm(self) -> float:
        return self.base_rif * self.gg_i / self.gg_std

    @property
    def saving(self) -> float:
        return 1.0 - self.consumption / self.base_norm

    @property
    def quota_comb(self) -> float:
        return self.base_norm * self.fuel_price

    @property
    def client_share(self) -> float:
        r, rg = self.saving, self.guaranteed
        if r <= rg:
            return self.client_share_guaranteed * max(r, 0.0)
        return self.client_share_guaranteed * rg + self.client_share_extra * (r - rg)

    @property
    def rebate(self) -> float:
        return self.client_share * self.base_norm * self.fuel_price

    @property
    def penalty(self) -> float:
        return max(self.guaranteed - self.saving, 0.0) * self.base_norm * self.fuel_price

    @property
    def energy_remuneration(self) -> float:
        return self.quota_comb - self.rebate - self.penalty

    @property
    def remuneration(self) -> float:
        return self.energy_remuneration + self.conduction

    def as_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit, "base_rif": self.base_rif, "gg_std": self.gg_std,
            "gg_i": self.gg_i, "base_norm": self.base_norm, "consumption": self.consumption,
            "saving_pct": 100 * self.saving, "guaranteed_pct": 100 * self.guaranteed,
            "guarantee_met": self.saving >= self.guaranteed,
            "fuel_price_eur_per_unit": self.fuel_price, "quota_comb_eur": self.quota_comb,
            "client_share_pct_of_baseline": 100 * self.client_share,
            "rebate_eur": self.rebate, "penalty_eur": self.penalty,
            "energy_remuneration_eur": self.energy_remuneration,
            "conduction_eur": self.conduction, "remuneration_eur": self.remuneration,
            "fuel_cost_at_price_eur": self.consumption * self.fuel_price,
        }


def epc_settlement(
    *,
    base_rif: float,
    gg_std: float,
    gg_i: float,
    consumption: float,
    fuel_price: float,
    guaranteed: float = 0.30,
    client_share_guaranteed: float = 0.20,
    client_share_extra: float = 0.50,
    conduction_ref: float = 0.0,
    cmdo_i: float | None = None,
    cmdo_ref: float | None = None,
    conduction_penalties: float = 0.0,
    unit: str = "Smc",
) -> EpcSettlement:
    """Settle one contract year; fractions as fractions (0.30), prices in € per `unit`."""
    values = {"base_rif": base_rif, "gg_std": gg_std, "gg_i": gg_i, "consumption": consumption,
              "fuel_price": fuel_price, "conduction_ref": conduction_ref,
              "conduction_penalties": conduction_penalties}
    for name, v in values.items():
        if not np.isfinite(v) or v < 0:
            raise AnalysisError("must be a non-negative number", input="epc", field=name,
                                value=v, expected=">= 0")
    for name, v in (("base_rif", base_rif), ("gg_std", gg_std), ("gg_i", gg_i)):
        if v == 0:
            raise AnalysisError("must be positive", input="epc", field=name, value=v,
                                expected="> 0 (GG_std: 2592 for Lodi)")
    for name, v in (("guaranteed", guaranteed),
                    ("client_share_guaranteed", client_share_guaranteed),
                    ("client_share_extra", client_share_extra)):
        if not 0 <= v <= 1:
            raise AnalysisError("must be a fraction", input="epc", field=name, value=v,
                                expected="0..1, e.g. 0.30 for 30 %")
    if (cmdo_i is None) != (cmdo_ref is None):
        raise AnalysisError("give both labour costs or neither", input="epc", field="cmdo_i",
                            value=(cmdo_i, cmdo_ref), expected="CMDO_i and CMDO_rif in €/h")
    factor = 1.0
    if cmdo_i is not None and cmdo_ref is not None:
        if cmdo_ref <= 0 or cmdo_i < 0:
            raise AnalysisError("labour cost must be positive", input="epc", field="cmdo_ref",
                                value=cmdo_ref, expected="> 0 €/h")
        factor = cmdo_i / cmdo_ref
    return EpcSettlement(
        base_rif=base_rif, gg_std=gg_std, gg_i=gg_i, consumption=consumption,
        fuel_price=fuel_price, guaranteed=guaranteed,
        client_share_guaranteed=client_share_guaranteed, client_share_extra=client_share_extra,
        conduction=conduction_ref * factor - conduction_penalties, unit=unit,
    )
