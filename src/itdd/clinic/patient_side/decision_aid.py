"""'Is targeted drug delivery for me?' — the FAQ's own criteria as questions, and a summary to bring to a doctor.

Pure: :func:`summarise` turns the answers into a list of points, each with what the person answered, what the
FAQ (``/work/shared/reference/seed-patient-faq.txt``) says about it and a question to ask.  It never returns a
verdict (no "eligible", no "not suitable"): only a doctor can decide, and the summary says so.  Nothing the
person enters is stored or audited (an anonymous visitor's health answers are not the clinic's to keep).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..problems import Invalid


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    key: str
    step: str
    text: str
    options: tuple[Option, ...]
    multiple: bool = False
    help: str = ""


YES_NO_UNSURE = (Option("no", "No"), Option("yes", "Yes"), Option("unsure", "I am not sure"))
UNDERSTOOD = (Option("understood", "I understand this"), Option("ask", "I want to ask my doctor about this"))

STEPS = ("Your pain", "What you have tried", "Reasons to wait", "What to expect", "Other options")

QUESTIONS: tuple[Question, ...] = (
    Question(
        "pain_where",
        STEPS[0],
        "Where is your pain?",
        (
            Option("widespread", "In many parts of my body, or across my trunk"),
            Option("limb", "Mainly in one arm or leg, or nerve pain in one area (for example back and leg)"),
            Option("other", "Headaches, stomach aches or a recent fracture"),
        ),
    ),
    Question(
        "tried",
        STEPS[1],
        "Which treatments have you already tried for this pain?",
        (
            Option("medication", "Pain medication by mouth"),
            Option("physio", "Physical therapy"),
            Option("massage", "Massage"),
            Option("chiro", "Chiropractic"),
            Option("acupuncture", "Acupuncture"),
            Option("surgery", "Surgery for the cause of the pain"),
        ),
        multiple=True,
    ),
    Question("infection", STEPS[2], "Do you have an infection at the moment?", YES_NO_UNSURE),
    Question(
        "body_size",
        STEPS[2],
        "Has a doctor told you that your body may be too small for an implanted pump?",
        YES_NO_UNSURE,
        help="The pump is about 8.6 cm wide and 2.5 cm thick, placed under the skin of the belly.",
    ),
    Question(
        "allergy", STEPS[2], "Are you allergic to a pain medication that might be used in the trial?", YES_NO_UNSURE
    ),
    Question(
        "not_cure",
        STEPS[3],
        "The therapy does not remove the source of the pain and is not a cure: relief varies from person to person.",
        UNDERSTOOD,
    ),
    Question(
        "trial_first",
        STEPS[3],
        "A screening trial comes first (from a day to several weeks) to see whether it relieves your pain.",
        UNDERSTOOD,
    ),
    Question(
        "reversible",
        STEPS[3],
        "It is reversible: the pump can be turned off, filled with saline, or removed by surgery.",
        UNDERSTOOD,
    ),
    Question(
        "refills",
        STEPS[3],
        "The pump must be refilled by a needle through the skin every 6 to 26 weeks, for as long as you have it.",
        UNDERSTOOD,
    ),
    Question(
        "risks",
        STEPS[3],
        "There are risks: infection, spinal fluid leak and headache after surgery; the catheter or pump can fail; "
        "too much or too little drug can be serious.",
        UNDERSTOOD,
    ),
    Question(
        "neurostim",
        STEPS[4],
        "Have you talked with a doctor about neurostimulation (spinal cord stimulation)?",
        YES_NO_UNSURE,
    ),
)
BY_KEY = {q.key: q for q in QUESTIONS}


@dataclass(frozen=True)
class Point:
    topic: str
    answer: str
    faq: str
    ask: str
    flag: bool = False  # something to raise with the doctor before anything else


@dataclass
class Summary:
    points: list[Point] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[Point]:
        return [p for p in self.points if p.flag]


NOT_A_VERDICT = (
    "This summary is not a recommendation and not a diagnosis. It lists what you answered and what the patient "
    "information says, so that you can talk it through with your doctor. Only your doctor can tell whether this "
    "therapy could help you."
)


def parse(form: dict[str, list[str]]) -> dict[str, list[str]]:
    """Keep the known questions; refuse an unknown option (naming the question).  Unanswered is allowed."""
    out: dict[str, list[str]] = {}
    for q in QUESTIONS:
        values = [v for v in form.get(q.key, []) if v]
        allowed = {o.value for o in q.options}
        for v in values:
            if v not in allowed:
                raise Invalid(f"{v!r} is not an answer to this question", field=q.key)
        if not q.multiple and len(values) > 1:
            raise Invalid("choose one answer", field=q.key)
        out[q.key] = values
    return out


def _label(q: Question, value: str) -> str:
    return next(o.label for o in q.options if o.value == value)


def summarise(answers: dict[str, list[str]]) -> Summary:
    """The points to discuss, in the FAQ's words.  Never a verdict."""
    s = Summary()

    def one(key: str) -> str | None:
        v = answers.get(key) or []
        if not v and not BY_KEY[key].multiple:
            s.unanswered.append(BY_KEY[key].text)
            return None
        return v[0] if v else ""

    where = one("pain_where")
    if where is not None:
        faq = {
            "widespread": "Doctors say targeted drug delivery is better suited to widespread pain.",
            "limb": "For nerve pain in the arms, legs or trunk, doctors often consider neurostimulation first.",
            "other": "The pump does not relieve other kinds of pain such as headaches, stomach aches or fractures.",
        }[where]
        s.points.append(
            Point(
                "The kind of pain",
                _label(BY_KEY["pain_where"], where),
                faq,
                "Which therapy fits my kind of pain?",
                flag=where == "other",
            )
        )
    tried = answers.get("tried") or []
    labels = [_label(BY_KEY["tried"], v) for v in tried]
    s.points.append(
        Point(
            "Treatments already tried",
            ", ".join(labels) if labels else "none of the listed treatments",
            "These devices are for people for whom conservative treatments (massage, physical therapy, chiropractic, "
            "acupuncture, medication) have not worked: not a last resort, but not a first treatment either.",
            "Are there treatments I should try first?",
            flag=not tried,
        )
    )
    for key, topic, faq in (
        (
            "infection",
            "Infection",
            "You should not have a screening trial or an implant while you have an active infection.",
        ),
        ("body_size", "Body size", "A body too small to hold the pump is a reason not to have the trial or implant."),
        ("allergy", "Allergy", "An allergy to the screening medication is a reason not to have the trial."),
    ):
        v = one(key)
        if v is not None:
            s.points.append(
                Point(
                    topic,
                    _label(BY_KEY[key], v),
                    faq,
                    f"Does my answer about {topic.lower()} matter for me?",
                    flag=v in ("yes", "unsure"),
                )
            )
    for key, topic, ask in (
        ("not_cure", "Not a cure", "How much relief do people like me usually get?"),
        ("trial_first", "A trial first", "What kind of screening trial would I have, and for how long?"),
        ("reversible", "Reversible", "What happens if I decide I do not want the pump any more?"),
        ("refills", "Refills for life", "How often would my refills be, and where?"),
        ("risks", "Risks", "Which risks matter most for me?"),
    ):
        v = one(key)
        if v is not None:
            s.points.append(Point(topic, _label(BY_KEY[key], v), BY_KEY[key].text, ask, flag=v == "ask"))
    v = one("neurostim")
    if v is not None:
        s.points.append(
            Point(
                "The alternative: neurostimulation",
                _label(BY_KEY["neurostim"], v),
                "Neurostimulation is the other implanted therapy the doctors name; if it is unclear which to try, "
                "some doctors try neurostimulation first.",
                "Could neurostimulation be an option for me?",
                flag=v != "yes",
            )
        )
    return s
