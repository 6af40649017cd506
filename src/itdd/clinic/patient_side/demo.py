"""The patient side of the demo clinic: a directory of pain centres (each clinic's own entries), a clinic
administrator per clinic, an ambassador coordinator, volunteers (patients who opted in) and a prospective
patient — so that a newcomer can walk every flow after ``make serve`` (README: demo users).

Centres, addresses and telephone numbers are fictional (the numbers are in Ofcom's ranges reserved for drama);
towns and coordinates are real (GeoNames).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Clinic, User
from ..security import hash_password
from .models import AmbassadorProfile, Centre

# username, role, display name, clinic key
USERS = (
    ("admin.riverside", "clinic_admin", "Priya Shah (directory admin)", "riverside"),
    ("admin.northgate", "clinic_admin", "Tom Becker (directory admin)", "northgate"),
    ("coord.adeyemi", "coordinator", "Tola Adeyemi (ambassador coordinator)", "riverside"),
    ("sam.taylor", "prospective", "Sam Taylor", "riverside"),
)
# patient login -> (alias, topics, about): patients who volunteered
VOLUNTEERS = {
    "robert.chen": (
        "Rob",
        ["deciding", "the operation", "refills", "daily life", "work"],
        "Pump since 2019 after back surgery; I still work part time.",
    ),
    "ana.silva": ("Ana", ["deciding", "screening trial", "travel", "family"], "Two years with a pump; I travel a lot."),
}
# clinic key, name, address, town, postcode, lat, lon, phone, trials, implants, refills, mri
CENTRES = (
    ("riverside", "Riverside Pain & Spasticity Clinic", "12 River Street", "Leeds", "LS1 4AP", 53.7965, -1.5478,
     "0113 496 0100", True, True, True, True),
    ("riverside", "Riverside Outreach Refill Clinic", "3 Station Parade", "Harrogate", "HG1 1TE", 53.9921, -1.5418,
     "01632 960 210", False, False, True, False),
    ("riverside", "Riverside at York Hospital", "Wigginton Road", "York", "YO31 8HE", 53.9690, -1.0830,
     "01632 960 320", True, False, True, False),
    ("northgate", "Northgate Neuromodulation Unit", "Oxford Road", "Manchester", "M13 9WL", 53.4627, -2.2259,
     "0161 496 0400", True, True, True, True),
    ("northgate", "Northgate Sheffield Satellite", "Glossop Road", "Sheffield", "S10 2JF", 53.3801, -1.4911,
     "0114 496 0500", False, False, True, True),
    ("northgate", "Northgate Preston Pain Service", "Sharoe Green Lane", "Preston", "PR2 9HT", 53.7903, -2.7011,
     "01632 960 630", True, False, True, False),
)  # fmt: skip


def seed_patient_side(db: Session, clinics: dict[str, Clinic], wall_s: float, password: str) -> None:
    for username, role, display, key in USERS:
        db.add(
            User(
                clinic_id=clinics[key].id, username=username, password_hash=hash_password(password), role=role,
                display_name=display, patient_id=None, active=True, created_wall_s=wall_s,
            )
        )  # fmt: skip
    for key, name, address, town, postcode, lat, lon, phone, trials, implants, refills, mri in CENTRES:
        db.add(
            Centre(
                clinic_id=clinics[key].id, name=name, address=address, town=town, postcode=postcode, lat=lat, lon=lon,
                phone=phone, offers_trials=trials, offers_implants=implants, offers_refills=refills, offers_mri=mri,
                updated_wall_s=wall_s,
            )
        )  # fmt: skip
    db.flush()
    for username, (alias, topics, about) in VOLUNTEERS.items():
        u = db.scalar(select(User).where(User.username == username))
        if u is None:  # pragma: no cover - the demo's patient logins
            continue
        db.add(
            AmbassadorProfile(
                user_id=u.id, clinic_id=u.clinic_id, alias=alias, topics=topics, about=about, consent_wall_s=wall_s
            )
        )
