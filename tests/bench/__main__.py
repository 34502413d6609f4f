"""Run the benchmarks: ``python -m tests.bench [--quick] [--out FILE]``."""

from __future__ import annotations

import sys

from tests.bench.run import main

sys.exit(main())
