"""`build_zipapp.py --slim`: which slim files a build writes (the container image needs its own
platform's, the release every target's). Pure target selection; the build itself is test_build.py's."""

from __future__ import annotations

import pytest

from build_zipapp import ALL_TARGETS, host_target, slim_targets


def test_no_slim_flag_means_this_machines_target() -> None:
    assert slim_targets([]) == [host_target()]


def test_named_targets_in_order_without_repeats() -> None:
    names = ["cp312-manylinux_aarch64", "cp312-manylinux_x86_64", "cp312-manylinux_aarch64"]
    assert [t.name for t in slim_targets(names)] == names[:2]


def test_all_means_every_target() -> None:
    assert slim_targets(["all"]) == list(ALL_TARGETS)


def test_an_unknown_target_stops_the_build_and_lists_the_known_ones() -> None:
    with pytest.raises(SystemExit, match=r"unknown --slim target\(s\) cp399-linux.*known: cp311-manylinux_x86_64"):
        slim_targets(["cp399-linux"])
