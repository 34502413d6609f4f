"""A hostile LabArchives against the real server with default settings: clear answers, no secret,
still serving, and every case's peak RSS under the pod's 128 MiB (a memory bound, not a time bound)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from labmcp.fake import FakeLabArchives
from tests.adversarial.hostile import LIMIT_MIB, add_hostile_lab, run_cases
from tests.adversarial.support import adversarial_env, canary_fake

pytestmark = pytest.mark.slow


async def test_hostile_upstream_answers_clearly_and_stays_under_128_mib(
    nursery: trio.Nursery, log_file: Path, figures: dict[str, Any]
) -> None:
    fake: FakeLabArchives = canary_fake()
    lab = add_hostile_lab(fake)
    await nursery.start(fake.serve)
    # Default settings: only the adversarial suite's fast timeouts, pacing off and a DEBUG log file.
    env = adversarial_env(fake, log_file)
    run = await run_cases(fake, lab, env)
    failed = [f"{o.name}: {o.answer}" for o in run.outcomes if not o.ok]
    assert not failed, failed
    assert all(o.serving for o in run.outcomes), [o.name for o in run.outcomes if not o.serving]
    over = {o.name: round(o.peak_mib, 1) for o in run.outcomes if o.peak_mib >= LIMIT_MIB}
    assert not over, over
    assert run.start_peak_mib < LIMIT_MIB
    figures["upstream_memory"] = {
        "limit_mib": LIMIT_MIB,
        "start_peak_mib": round(run.start_peak_mib, 1),
        "cases": {o.name: {"peak_mib": round(o.peak_mib, 1), "answer": o.answer[:160]} for o in run.outcomes},
    }
