"""``make soak``: every property test (``-m property``) for a bounded time, fresh seeds, many examples.

CI runs the property tests few and derandomized (profile "ci").  A soak runs them in rounds until
``ITDD_SOAK_MINUTES`` (default 10) have passed: each round is one pytest run with the "soak"
hypothesis profile (not derandomized, no example database) and a fresh random
``--hypothesis-seed`` printed before it starts, ``ITDD_SOAK_EXAMPLES`` (default 1000) examples per
test (slow properties take a share, see tests.conftest.examples).  At the end it prints the
examples generated per test and in total; a failing round prints its seed (rerun it with
``pytest -m property --hypothesis-seed=SEED`` and ``ITDD_SOAK=1``) and the soak exits 1.
``ITDD_SOAK_WORKERS`` (default 2) runs each round on that many pytest-xdist workers.
"""

from __future__ import annotations

import glob
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    minutes = float(os.environ.get("ITDD_SOAK_MINUTES", "10"))
    workers = int(os.environ.get("ITDD_SOAK_WORKERS", "2"))
    deadline = time.monotonic() + minutes * 60.0
    totals: Counter[str] = Counter()
    failures: list[int] = []
    rounds = 0
    rng = random.SystemRandom()
    with tempfile.TemporaryDirectory(prefix="itdd-soak-") as tmp:
        while time.monotonic() < deadline:
            rounds += 1
            seed = rng.getrandbits(63)
            counts = os.path.join(tmp, f"round{rounds}")
            env = {**os.environ, "ITDD_SOAK": "1", "ITDD_SOAK_COUNTS": counts}
            env.pop("CI", None)
            cmd = [sys.executable, "-m", "pytest", "-m", "property", "-q", "-p", "no:randomly"]
            cmd += [f"--hypothesis-seed={seed}", "-x"]
            if workers > 1:
                cmd += ["-n", str(workers)]
            left = (deadline - time.monotonic()) / 60.0
            print(f"soak round {rounds}: seed {seed} ({left:.1f} min left)", flush=True)
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            for path in glob.glob(counts + ".*.json"):
                with open(path, encoding="utf-8") as fh:
                    totals.update(json.load(fh))
            if proc.returncode != 0:
                failures.append(seed)
                sys.stdout.write(proc.stdout[-20000:])
                sys.stderr.write(proc.stderr[-5000:])
                print(f"soak round {rounds} FAILED: seed {seed}", flush=True)
                break
    print(f"\nsoak: {rounds} round(s) in {minutes:g} min budget; examples generated per property test:")
    for nodeid, n in sorted(totals.items()):
        print(f"  {n:>9,d}  {nodeid}")
    stateful = sum(n for k, n in totals.items() if "Machine" in k)
    print(f"  {sum(totals.values()):>9,d}  in total ({stateful:,d} stateful command sequences)")
    if failures:
        seed = failures[0]
        print(f"soak: violation found; seed {seed} (ITDD_SOAK=1 pytest -m property --hypothesis-seed={seed})")
        return 1
    print("soak: 0 violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
