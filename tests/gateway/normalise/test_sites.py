"""Site facts from the packaged DPR 412/93 table and heating seasons by zone."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.normalise.errors import (
    AmbiguousMunicipalityError,
    NormaliseError,
    UnknownMunicipalityError,
)
from gateway.normalise.sites import heating_season, municipalities, site_facts


@pytest.mark.parametrize(("query", "expected"), [
    ("Milano", ("MILANO", "MI", "E", 2404, 122)),
    ("lodi", ("LODI", "MI", "E", 2592, 87)),
    ("  Chiari ", ("CHIARI", "BS", "E", 2251, 145)),
    ("ROMA", ("ROMA", "RM", "D", 1415, 20)),
    ("Genova", ("GENOVA", "GE", "D", 1435, 19)),       # seed 003: zone D, 1,435 GG
    ("Agliè", ("AGLIÈ", "TO", "E", 2617, 315)),
    ("aglie", ("AGLIÈ", "TO", "E", 2617, 315)),
    ("Albiano d’Ivrea", ("ALBIANO D'IVREA", "TO", "E", 2706, 230)),
])
def test_lookup_examples_from_the_data_readme(query: str, expected: tuple) -> None:
    f = site_facts(query)
    assert (f.municipality, f.province, f.zone, f.degree_days, f.altitude_m) == expected
    assert f.heating_season.zone == f.zone


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownMunicipalityError) as err:
        site_facts("Milnao")
    assert "MILANO (MI)" in err.value.suggestions
    assert err.value.field == "municipality"
    assert "MILANO (MI)" in str(err.value)


def test_ambiguous_name_needs_province() -> None:
    with pytest.raises(AmbiguousMunicipalityError) as err:
        site_facts("Castro")
    assert len(err.value.provinces) >= 2
    province = err.value.provinces[0]
    assert site_facts("castro", province=province.lower()).province == province


def test_wrong_province_is_unknown_with_the_real_one_suggested() -> None:
    with pytest.raises(UnknownMunicipalityError) as err:
        site_facts("Milano", province="RM")
    assert "MILANO (MI)" in err.value.suggestions


def test_table_size_and_zone_distribution() -> None:
    # Counted in the shared CSV with awk: 8105 rows; A 2, B 157, C 986, D 1579, E 4273, F 1108.
    rows = municipalities()
    assert len(rows) == 8105
    counts = {z: sum(1 for m in rows if m.zone == z) for z in "ABCDEF"}
    assert counts == {"A": 2, "B": 157, "C": 986, "D": 1579, "E": 4273, "F": 1108}


@pytest.mark.parametrize(("zone", "first", "last", "hours"), [
    ("A", date(2026, 12, 1), date(2027, 3, 15), 6),
    ("B", date(2026, 12, 1), date(2027, 3, 31), 8),
    ("C", date(2026, 11, 15), date(2027, 3, 31), 10),
    ("D", date(2026, 11, 1), date(2027, 4, 15), 12),
    ("E", date(2026, 10, 15), date(2027, 4, 15), 14),
])
def test_heating_seasons(zone: str, first: date, last: date, hours: int) -> None:
    s = heating_season(zone)
    assert s.daily_hours == hours
    assert s.contains(first) and s.contains(last)
    assert not s.contains(date.fromordinal(first.toordinal() - 1))
    assert not s.contains(date.fromordinal(last.toordinal() + 1))
    assert s.contains(date(2027, 1, 15))
    assert not s.contains(date(2027, 7, 1))


def test_season_lengths_match_arera_heating_days() -> None:
    # B-E season lengths (non-leap winter) equal ARERA's ng table used for coefficient C.
    for zone, days in {"B": 121, "C": 137, "D": 166, "E": 183, "A": 105}.items():
        s = heating_season(zone)
        n = sum(s.contains(date.fromordinal(date(2026, 7, 1).toordinal() + k))
                for k in range(365))
        assert n == days, zone


def test_zone_f_has_no_limits_and_bad_zone_is_rejected() -> None:
    f = heating_season("F")
    assert f.daily_hours is None and f.contains(date(2026, 7, 1))
    with pytest.raises(NormaliseError) as err:
        heating_season("G")
    assert err.value.field == "zone"
