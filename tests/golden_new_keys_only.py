"""Check that today's outputs differ from the golden files (tests/golden/) by new keys only.

    python tests/golden_new_keys_only.py

Runs every example scenario and the reference cohort as tests/test_golden.py does and compares
each with its golden file key by key: every old key must still be there with exactly the same
value (floats to the last bit, lists item by item and of the same length) and the old keys must
keep their order; new keys are listed, not errors.  Prints every changed or missing old value and
exits 1 if there is one.  Run it before regenerating the goldens (``python tests/test_golden.py``)
after an additive change (issue 10).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_golden import COHORT_ARGS, EXAMPLES, _golden, _run


def compare(old: Any, new: Any, path: str, changed: list[str], added: list[str]) -> None:
    """Append to ``changed`` every old value that is missing or different, to ``added`` every new key."""
    if type(old) is not type(new):
        changed.append(f"{path}: {old!r} became {new!r}")
        return
    if isinstance(old, dict):
        missing = [k for k in old if k not in new]
        changed.extend(f"{path}.{k}: removed" for k in missing)
        kept = [k for k in new if k in old]
        if kept != [k for k in old if k in new]:
            changed.append(f"{path}: the old keys changed order")
        added.extend(f"{path}.{k}" for k in new if k not in old)
        for k in old:
            if k in new:
                compare(old[k], new[k], f"{path}.{k}", changed, added)
        return
    if isinstance(old, list):
        if len(old) != len(new):
            changed.append(f"{path}: {len(old)} items became {len(new)}")
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            compare(a, b, f"{path}[{i}]", changed, added)
        return
    if old != new:
        changed.append(f"{path}: {old!r} became {new!r}")


def main() -> int:
    runs = [(p.stem, ["simulate", str(p), "--json", "--compact"]) for p in EXAMPLES]
    runs.append(("cohort-300-3y-seed11", COHORT_ARGS))
    bad = 0
    for name, argv in runs:
        changed: list[str] = []
        added: list[str] = []
        compare(_golden(name), _run(argv), "$", changed, added)
        print(f"{name}: {len(changed)} old values changed, {len(added)} new keys")
        for line in changed:
            print(f"  CHANGED {line}")
        for line in added:
            print(f"  new     {line}")
        bad += len(changed)
    print("OK: new keys only; every old value identical" if bad == 0 else f"FAILED: {bad} old values changed")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
