"""Hostile and large attachments against the real server with default settings: clear answers naming
the file and the limit, still serving, and every case's peak RSS under the pod's 128 MiB."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from labmcp.fake import FakeLabArchives
from tests.adversarial.hostile import LIMIT_MIB, add_hostile_lab, run_cases
from tests.adversarial.hostile_files import CASES, add_hostile_files
from tests.adversarial.support import adversarial_env, canary_fake

pytestmark = pytest.mark.slow


async def test_hostile_attachments_answer_clearly_and_stay_under_128_mib(nursery: trio.Nursery, log_file: Path) -> None:
    fake: FakeLabArchives = canary_fake()
    lab = add_hostile_lab(fake)
    add_hostile_files(fake, lab)
    await nursery.start(fake.serve)
    run = await run_cases(fake, lab, adversarial_env(fake, log_file), CASES)
    for o in run.outcomes:
        print(f"{o.name}: before {o.before_mib:.1f}, peak {o.peak_mib:.1f} MiB; {o.answer[:200]}")
    failed = [f"{o.name}: {o.answer}" for o in run.outcomes if not o.ok]
    assert not failed, failed
    assert all(o.serving for o in run.outcomes), [o.name for o in run.outcomes if not o.serving]
    over = {o.name: round(o.peak_mib, 1) for o in run.outcomes if o.peak_mib >= LIMIT_MIB}
    assert not over, over
