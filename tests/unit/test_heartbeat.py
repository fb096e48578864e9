"""A long step says it is alive; a short one says nothing."""

import time

from whiskey.heartbeat import Heartbeat


def test_a_long_step_says_it_is_alive_with_its_latest_line():
    said = []
    with Heartbeat(said.append, "debootstrap bookworm", every=0.05) as beat:
        beat.note("I: Unpacking libc6...\n")
        time.sleep(0.18)
    assert len(said) >= 2
    assert said[0].startswith("debootstrap bookworm: still running after 0m00s")
    assert said[-1].endswith("(I: Unpacking libc6...)")


def test_a_short_step_says_nothing_and_the_beat_stops_with_it():
    said = []
    with Heartbeat(said.append, "build", every=0.2):
        pass
    time.sleep(0.3)
    assert said == []
