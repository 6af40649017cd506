"""The guardrail rules, as data.

Every rule has an id, a kind and a description.  ``hard`` = refused, nothing changes; ``soft`` =
allowed only with an explicit confirmation and a reason, both recorded.  Each rule is proven by
exactly one test named ``test_rule_<id>`` in ``tests/drugs/test_guardrail_rules.py`` (a meta-test
checks that the two lists match).  The numbers the rules use are in ``library.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # "hard" | "soft"
    description: str


GUARDRAIL_RULES: tuple[Rule, ...] = (
    Rule("unknown_drug", "hard", "A drug that is not in the drug library is refused."),
    Rule("concentration_outside_library", "hard", "A concentration outside the library's hard bounds is refused."),
    Rule("concentration_soft", "soft", "A concentration above the library's soft maximum needs confirmation."),
    Rule("daily_dose_hard", "hard", "A programmed daily dose above the drug's hard limit is refused."),
    Rule("daily_dose_soft", "soft", "A programmed daily dose above the drug's soft limit needs confirmation."),
    Rule("flex_step_hard", "hard", "A flex step whose dose rate is above the daily hard limit is refused."),
    Rule("flex_step_soft", "soft", "A flex step whose dose rate is above the daily soft limit needs confirmation."),
    Rule("min_rate", "hard", "A dose that needs a pump rate below the pump's minimum rate is refused."),
    Rule("max_rate", "hard", "A dose or bolus that needs a pump rate above the pump's maximum rate is refused."),
    Rule("bolus_dose_hard", "hard", "A clinician or periodic bolus above the drug's hard bolus limit is refused."),
    Rule(
        "bolus_dose_soft", "soft", "A clinician or periodic bolus above the drug's soft bolus limit needs confirmation."
    ),
    Rule("ptm_dose_hard", "hard", "A patient bolus dose above the drug's hard bolus limit is refused."),
    Rule("ptm_dose_soft", "soft", "A patient bolus dose above the drug's soft bolus limit needs confirmation."),
    Rule("ptm_count_hard", "hard", "A number of patient boluses per day outside the hard bounds is refused."),
    Rule("ptm_count_soft", "soft", "More patient boluses per day than the soft limit needs confirmation."),
    Rule("ptm_lockout_hard", "hard", "A lockout below the hard minimum (or shorter than the bolus) is refused."),
    Rule("ptm_lockout_soft", "soft", "A lockout below the soft minimum needs confirmation."),
    Rule("ptm_duration_hard", "hard", "A patient bolus duration outside the hard bounds is refused."),
    Rule(
        "ptm_max_daily_hard",
        "hard",
        "The most drug a day can bring (basal plus every allowed patient bolus, or the programmed 24 h maximum) "
        "above the daily hard limit is refused.",
    ),
    Rule(
        "ptm_max_daily_soft",
        "soft",
        "The most drug a day can bring (basal plus every allowed patient bolus) above the daily soft limit needs "
        "confirmation.",
    ),
    Rule("low_reservoir_hard", "hard", "A low-reservoir alarm threshold outside the hard bounds is refused."),
    Rule("low_reservoir_soft", "soft", "A low-reservoir alarm threshold outside the soft bounds needs confirmation."),
    Rule("titration_step_hard", "hard", "A dose increase above the drug's hard maximum step (%) is refused."),
    Rule("titration_step_soft", "soft", "A dose increase above the drug's soft maximum step (%) needs confirmation."),
    Rule("titration_amount_hard", "hard", "A dose increase above the drug's hard maximum step amount is refused."),
    Rule(
        "titration_amount_soft", "soft", "A dose increase above the drug's soft maximum step amount needs confirmation."
    ),
    Rule(
        "titration_interval_hard",
        "hard",
        "A dose increase sooner than the hard minimum interval after the last is refused.",
    ),
    Rule(
        "titration_interval_soft",
        "soft",
        "A dose increase sooner than the soft minimum interval after the last needs confirmation.",
    ),
    Rule(
        "starting_dose_soft",
        "soft",
        "Starting a drug (from a stopped pump) above its starting-dose range needs confirmation.",
    ),
    Rule(
        "component_limit_hard",
        "hard",
        "A mixture whose added drug's concentration, daily dose or bolus is outside that drug's own hard limit "
        "is refused (even when the primary drug's values are fine).",
    ),
    Rule(
        "component_limit_soft",
        "soft",
        "A mixture whose added drug's concentration, daily dose or bolus is above that drug's own soft limit "
        "needs confirmation.",
    ),
    Rule("confirmation_needs_reason", "hard", "A soft-limit confirmation without a reason is refused."),
    Rule("confirmation_unneeded", "hard", "A confirmation for a value that is within its soft limits is refused."),
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in GUARDRAIL_RULES}
