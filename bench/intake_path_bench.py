"""The Python work intake does per complaint on its hot path, without I/O: validate the body,
build its matching probe and the complaint, stage its rows and event in a recorder batch,
serialise the batch's JSON document, and render the 201 response. Measured in CPU time
(process_time), so a busy shared machine's scheduling does not count, for this tree and
another, alternating in one run.

    uv run python bench/intake_path_bench.py --compare-src DIR [--pairs 3] [--n 5000]

DIR is another checkout (e.g. the main worktree): its services/intake/src and libs/common/src
go first on PYTHONPATH in the other contestant's process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path


def measure(n: int) -> float:
    """Median CPU microseconds per complaint over seven runs of `n` (after a warm-up)."""
    from casebridge.common.auth import Principal
    from casebridge.intake import complaints

    try:  # the batch's rows and statement: batch_write.py (recording.py before)
        from casebridge.intake import batch_write as recording
    except ImportError:
        from casebridge.intake import recording  # type: ignore[attr-defined,no-redef]
    from casebridge.intake.areas import ServedArea
    from casebridge.intake.config import AreaConfigs
    from casebridge.intake.routes.complaints import _created  # the route's own response

    try:
        from casebridge.intake.matching import probe
    except ImportError:  # a tree from before matching had a module of its own
        from casebridge.intake.people import probe  # type: ignore[attr-defined,no-redef]
    from casebridge.intake.schemas.complaints import ComplaintCreate

    body = {
        "channel": "phone",
        "complainant": {"details": {"name": "Ann Example", "phone": "020 7946 0018"}},
        "occurred_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
        "location": {"address": "1 Example Street", "postcode": "SW1A 1AA"},
        "nsir_category": "personal",
        "asb_type": "noise",
        "description": "Music until 3am",
        "consent": {"status": "given"},
    }
    area_id = uuid.uuid4()
    who = Principal(
        subject="s", client_id="c", agency_id=uuid.uuid4(), area_id=area_id, scopes=frozenset()
    )
    area = ServedArea(id=area_id, code="DMO", config=AreaConfigs(None).default)
    backdating = getattr(complaints, "backdating", None)
    try:  # the complaint is made in logged.py, the repeat-victim window in repeat_victims.py
        from casebridge.intake.logged import new_complaint
        from casebridge.intake.repeat_victims import window_start
    except ImportError:  # a tree from before
        new_complaint = None  # type: ignore[assignment]
        from casebridge.intake.people import (  # type: ignore[attr-defined,no-redef]
            repeat_window_start as window_start,
        )

    def one() -> None:
        data = ComplaintCreate.model_validate(body)
        draft = complaints.Draft(who, data, respond=_created)
        extra = ()
        if backdating is not None:
            extra = (backdating.check(data, area.config.backdating, datetime.now(UTC)),)
        # The probe matching sends (the name's normal form and, where it exists, its key).
        probe(0, area_id, data.complainant, datetime.now(UTC))
        if new_complaint is not None:
            logged = new_complaint(
                who, data, area=area, sequence=1, found=None, backdated=extra[0],
                open311_client_id=None,
            )  # fmt: skip
        else:
            logged = complaints._new_complaint(draft, area, 1, None, *extra)
        batch = recording.Batch()
        complaints._stage(batch, logged, area, None)
        window_start(area.config.repeat_victim, datetime.now(UTC))
        draft.respond(logged, None)
        batch.document()

    for _ in range(n // 2):
        one()
    runs = []
    for _ in range(7):
        start = time.process_time()
        for _ in range(n):
            one()
        runs.append((time.process_time() - start) / n * 1e6)
    return statistics.median(runs)


def run(tree: Path | None, n: int) -> float:
    env = dict(os.environ)
    if tree is not None:
        paths = [str(tree / "services/intake/src"), str(tree / "libs/common/src")]
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(n)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compare-src", type=Path, required=False)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(measure(args.measure))
        return
    this, other = [], []
    for _ in range(args.pairs):
        this.append(run(None, args.n))
        if args.compare_src:
            other.append(run(args.compare_src.resolve(), args.n))
    load = os.getloadavg()[0]
    print(f"this tree: {statistics.median(this):.1f} us CPU per complaint (pairs: {this})")
    if other:
        name = args.compare_src.name
        print(f"{name}: {statistics.median(other):.1f} us CPU per complaint (pairs: {other})")
        print(f"ratio this / {name}: {statistics.median(this) / statistics.median(other):.3f}")
    print(f"load average (1 min): {load:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
