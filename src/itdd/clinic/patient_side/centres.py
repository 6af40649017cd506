"""The public directory of pain centres: search (nearest first, with the distance, filtered by what a centre
offers) and its management by a clinic administrator, who edits only their own clinic's entries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..problems import Forbidden, Invalid, NotFound
from ..services import Ctx
from . import gazetteer
from .models import Centre

OFFERS = {
    "trials": "Screening trials",
    "implants": "Pump implants",
    "refills": "Refills",
    "mri": "MRI-conditional scanning",
}
MAX_RESULTS = 100
DEFAULT_RESULTS = 20
PHONE = re.compile(r"^[0-9+() \-]{6,40}$")


@dataclass(frozen=True)
class Hit:
    centre: Centre
    distance_km: float


def _offers(c: Centre) -> list[str]:
    return [k for k in OFFERS if getattr(c, f"offers_{k}")]


def centre_dict(c: Centre, distance_km: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "name": c.name,
        "address": c.address,
        "town": c.town,
        "postcode": c.postcode,
        "phone": c.phone,
        "lat": c.lat,
        "lon": c.lon,
        "offers": _offers(c),
    }
    if distance_km is not None:
        out["distance_km"] = round(distance_km, 1)
    return out


def parse_offers(values: list[str]) -> list[str]:
    for v in values:
        if v not in OFFERS:
            raise Invalid(f"unknown service {v!r}; choose from {', '.join(OFFERS)}", field="offers")
    return list(dict.fromkeys(values))


def search(db: Session, place: gazetteer.Place, offers: list[str], limit: int = DEFAULT_RESULTS) -> list[Hit]:
    """Every centre offering all of ``offers``, nearest first (ties by name)."""
    if not 1 <= limit <= MAX_RESULTS:
        raise Invalid(f"limit must be between 1 and {MAX_RESULTS}", field="limit")
    rows = db.scalars(select(Centre))
    hits = [
        Hit(c, gazetteer.distance_km(place.lat, place.lon, c.lat, c.lon))
        for c in rows
        if all(getattr(c, f"offers_{o}") for o in offers)
    ]
    hits.sort(key=lambda h: (h.distance_km, h.centre.name))
    return hits[:limit]


# ---- administration ------------------------------------------------------------------------------


@dataclass
class CentreInput:
    name: str
    address: str
    town: str
    postcode: str
    phone: str
    offers: list[str]
    lat: float | None = None
    lon: float | None = None


def _text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    v = value.strip()
    if required and not v:
        raise Invalid("required", field=field)
    if len(v) > limit:
        raise Invalid(f"at most {limit} characters", field=field)
    return v


def validate(inp: CentreInput) -> tuple[CentreInput, gazetteer.Place]:
    """Range- and format-check an entry; place it from its coordinates, postcode or town."""
    name = _text(inp.name, "name", 200)
    address = _text(inp.address, "address", 300)
    town = _text(inp.town, "town", 100)
    postcode = _text(inp.postcode, "postcode", 16).upper()
    if gazetteer.postcode_area(postcode) is None:
        raise Invalid("not a UK postcode (for example 'LS1 4AP')", field="postcode")
    phone = _text(inp.phone, "phone", 40)
    if not PHONE.match(phone):
        raise Invalid("digits, spaces, +, ( ) and - only", field="phone")
    offers = parse_offers(inp.offers)
    if inp.lat is not None or inp.lon is not None:
        if inp.lat is None or inp.lon is None:
            raise Invalid("give both latitude and longitude, or neither", field="lat" if inp.lat is None else "lon")
        gazetteer.check_coords(inp.lat, inp.lon)
        place = gazetteer.Place(inp.lat, inp.lon, f"{inp.lat:.4f}, {inp.lon:.4f}", "coordinates")
    else:
        place = gazetteer.town(town) or gazetteer.geocode(postcode, field="postcode")
    return CentreInput(name, address, town, postcode, phone, offers, place.lat, place.lon), place


def _require_admin(ctx: Ctx) -> None:
    if ctx.actor.role != "clinic_admin":
        raise Forbidden("only a clinic administrator manages the directory")


def own_centres(ctx: Ctx) -> list[Centre]:
    _require_admin(ctx)
    return list(ctx.db.scalars(select(Centre).where(Centre.clinic_id == ctx.actor.clinic_id).order_by(Centre.name)))


def get_own(ctx: Ctx, centre_id: int) -> Centre:
    """One of the administrator's own clinic's centres; another clinic's entry does not exist for them (404)."""
    _require_admin(ctx)
    c = ctx.db.get(Centre, centre_id)
    if c is None or c.clinic_id != ctx.actor.clinic_id:
        raise NotFound(f"no centre {centre_id} in your clinic's directory", field="centre_id")
    return c


def _apply(c: Centre, inp: CentreInput, wall_s: float) -> None:
    assert inp.lat is not None and inp.lon is not None
    c.name, c.address, c.town, c.postcode, c.phone = inp.name, inp.address, inp.town, inp.postcode, inp.phone
    c.lat, c.lon = inp.lat, inp.lon
    for k in OFFERS:
        setattr(c, f"offers_{k}", k in inp.offers)
    c.updated_wall_s = wall_s


def create(ctx: Ctx, inp: CentreInput) -> int:
    _require_admin(ctx)
    clean, _ = validate(inp)
    c = Centre(clinic_id=ctx.actor.clinic_id)
    _apply(c, clean, ctx.wall())
    ctx.db.add(c)
    ctx.db.flush()
    ctx.audit("centre.create", "centre", c.id, t_s=None, after=centre_dict(c))
    return c.id


def update(ctx: Ctx, centre_id: int, inp: CentreInput) -> None:
    c = get_own(ctx, centre_id)
    clean, _ = validate(inp)
    before = centre_dict(c)
    _apply(c, clean, ctx.wall())
    ctx.audit("centre.update", "centre", c.id, t_s=None, before=before, after=centre_dict(c))


def delete(ctx: Ctx, centre_id: int) -> None:
    c = get_own(ctx, centre_id)
    before = centre_dict(c)
    ctx.db.delete(c)
    ctx.audit("centre.delete", "centre", centre_id, t_s=None, before=before)
