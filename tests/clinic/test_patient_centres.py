"""Find a pain centre: offline geocoding, nearest first with the distance, filters; the administrators."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from itdd.clinic.models import AuditEntry
from itdd.clinic.patient_side import gazetteer
from itdd.clinic.patient_side.models import Centre
from itdd.clinic.problems import Invalid

from .conftest import Clinic


def test_towns_postcodes_and_coordinates_are_geocoded_offline() -> None:
    leeds = gazetteer.geocode("Leeds")
    assert leeds.how == "town" and abs(leeds.lat - 53.80) < 0.05 and abs(leeds.lon + 1.55) < 0.05
    assert gazetteer.geocode("leeds ") == leeds  # case and spaces
    for code in ("LS1 4AP", "ls6 3hn", "LS1"):  # matched at postcode-area level: "LS" is Leeds
        p = gazetteer.geocode(code)
        assert p.how == "postcode area" and "Leeds" in p.label and (p.lat, p.lon) == (leeds.lat, leeds.lon)
    p = gazetteer.geocode("53.5, -2.25")
    assert (p.lat, p.lon, p.how) == (53.5, -2.25, "coordinates")


def test_every_bundled_postcode_area_resolves_to_a_town() -> None:
    missing = [a for a, t in gazetteer.POSTCODE_AREAS.items() if gazetteer.town(t) is None]
    assert missing == []
    assert len(gazetteer.POSTCODE_AREAS) == 121  # the UK's postcode areas


@pytest.mark.parametrize("bad", ["", "Atlantis", "ZZ9 9ZZ", "95, 0", "10, 200", "x" * 101])
def test_what_cannot_be_placed_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(Invalid) as e:
        gazetteer.geocode(bad)
    assert e.value.field == "q"


def test_distance_by_hand() -> None:
    # Leeds centre (53.7965, -1.5478) to York (53.9690, -1.0830): dlat 0.1725 deg = 0.0030107 rad,
    # dlon 0.4648 deg = 0.0081123 rad x cos(53.883 deg) 0.5896 = 0.0047832 rad;
    # 6371.0088 km x sqrt(0.0030107^2 + 0.0047832^2) = 6371.0088 x 0.0056519 = 36.0 km
    assert gazetteer.distance_km(53.7965, -1.5478, 53.9690, -1.0830) == pytest.approx(36.0, abs=0.1)
    # a quarter of a meridian: pi/2 x R = 10007.6 km
    assert gazetteer.distance_km(0, 0, 90, 0) == pytest.approx(math.pi / 2 * 6371.0088)


coord = st.tuples(st.floats(-89.9, 89.9), st.floats(-179.9, 179.9))


@given(coord, coord)
def test_distance_is_symmetric_and_non_negative(a: tuple[float, float], b: tuple[float, float]) -> None:
    d1, d2 = gazetteer.distance_km(*a, *b), gazetteer.distance_km(*b, *a)
    assert d1 >= 0 and d1 == pytest.approx(d2, abs=1e-6) and d1 <= math.pi * 6371.0088 + 1e-6


def test_search_nearest_first_with_distances(sqlite_clinic: Clinic) -> None:
    r = sqlite_clinic.get("/api/v1/centres", params={"q": "York"})
    assert r.status_code == 200
    got = [(c["name"], c["distance_km"]) for c in r.json()["centres"]]
    names = [n for n, _ in got]
    # the demo: York Hospital is in York; Harrogate (~30 km) and Leeds (~35 km) follow; Preston (~100 km) last
    assert names[0] == "Riverside at York Hospital" and names[-1] == "Northgate Preston Pain Service"
    assert [d for _, d in got] == sorted(d for _, d in got)


def test_filters_keep_only_centres_offering_everything_asked(sqlite_clinic: Clinic) -> None:
    r = sqlite_clinic.get("/api/v1/centres", params=[("q", "LS1 4AP"), ("offers", "mri"), ("offers", "implants")])
    names = [c["name"] for c in r.json()["centres"]]
    # demo: MRI-conditional scanning and implants: Riverside (Leeds) and Northgate (Manchester) only
    assert names == ["Riverside Pain & Spasticity Clinic", "Northgate Neuromodulation Unit"]
    bad = sqlite_clinic.get("/api/v1/centres", params={"q": "Leeds", "offers": "massage"})
    assert bad.status_code == 422 and bad.json()["field"] == "offers"
    bad = sqlite_clinic.get("/api/v1/centres", params={"q": "Atlantis"})
    assert bad.status_code == 422 and bad.json()["field"] == "q"
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_the_public_page_lists_centres_with_distances(sqlite_clinic: Clinic) -> None:
    r = sqlite_clinic.client.get("/centres", params={"q": "Manchester", "offers": "refills"})
    assert r.status_code == 200
    assert r.text.index("Northgate Neuromodulation Unit") < r.text.index("Riverside Pain &amp; Spasticity Clinic")
    assert " km</span>" in r.text
    r = sqlite_clinic.client.get("/centres", params={"q": "Atlantis"})
    assert r.status_code == 422 and "q:" in r.text.replace("<b>", "").replace("</b>", "")


def test_an_administrator_manages_only_their_own_clinics_entries(sqlite_clinic: Clinic) -> None:
    c = sqlite_clinic
    a, csrf = c.browser("admin.riverside")
    page = a.get("/admin/centres").text
    assert "Riverside at York Hospital" in page and "Northgate" not in page.split("<main")[1]
    form = {
        "csrf_token": csrf,
        "name": "Riverside Wakefield Clinic",
        "address": "1 Westgate",
        "town": "Wakefield",
        "postcode": "WF1 1AA",
        "phone": "01632 960 777",
        "offers": ["refills", "trials"],
    }
    assert a.post("/admin/centres", data=form).status_code == 303
    with c.db.read() as s:
        new = s.scalar(select(Centre).where(Centre.name == "Riverside Wakefield Clinic"))
        assert new is not None and new.offers_refills and new.offers_trials and not new.offers_mri
        assert abs(new.lat - 53.68) < 0.05  # placed at Wakefield (GeoNames), no coordinates given
        new_id = new.id
        northgate_id = s.scalar(select(Centre.id).where(Centre.name == "Northgate Sheffield Satellite"))
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "centre.create")) is not None
    r = c.client.get("/centres", params={"q": "Wakefield"})
    assert r.text.index("Riverside Wakefield Clinic") < r.text.index("Riverside Pain")
    # another clinic's entry does not exist for this administrator: neither edit nor delete
    assert a.post(f"/admin/centres/{northgate_id}", data=form).status_code == 404
    assert a.post(f"/admin/centres/{northgate_id}/delete", data={"csrf_token": csrf}).status_code == 404
    n, ncsrf = c.browser("admin.northgate")
    assert n.post(f"/admin/centres/{new_id}/delete", data={"csrf_token": ncsrf}).status_code == 404
    # bad entries: the error names the field, nothing is stored
    for key, value in (("postcode", "12345"), ("phone", "call me"), ("name", ""), ("lat", "95"), ("lat", "north")):
        r = a.post(f"/admin/centres/{new_id}", data={**form, key: value, "lon": "-1.5"})
        assert r.status_code == 422, (key, value)
        assert key in r.text
    assert a.post(f"/admin/centres/{new_id}/delete", data={"csrf_token": csrf}).status_code == 303
    with c.db.read() as s:
        assert s.get(Centre, new_id) is None
        assert s.get(Centre, northgate_id) is not None
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "centre"))]
        assert actions == ["centre.create", "centre.delete"]
