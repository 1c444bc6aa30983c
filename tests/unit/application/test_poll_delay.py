"""The acknowledgement back-off (CONTRACT.md 5.4): a peer that took a submission but has not decided is asked
again after a quarter of the time waited so far, at least 2 seconds and at most 15 minutes later."""

from __future__ import annotations

import pytest

from pipeline.application.stages import poll_delay_ms


@pytest.mark.parametrize(("waited_s", "delay_ms"), [
    (0, 2_000),            # at least 2 s
    (4, 2_000),
    (8, 2_000),            # a quarter of 8 s is exactly the floor
    (10, 2_500),           # between the limits: a quarter of the time waited
    (60, 15_000),
    (61.5, 15_375),
    (600, 150_000),
    (3_599, 899_750),
    (3_600, 900_000),      # a quarter of an hour is exactly the ceiling
    (3_601, 900_000),      # at most 15 minutes
    (7 * 86_400, 900_000),
])
def test_the_next_poll_is_a_quarter_of_the_time_waited_between_2_s_and_15_min(waited_s: float,
                                                                             delay_ms: int) -> None:
    assert poll_delay_ms(waited_s) == delay_ms


def test_the_poll_delay_never_shrinks_as_the_wait_grows() -> None:
    delays = [poll_delay_ms(s) for s in range(0, 4_000, 7)]
    assert delays == sorted(delays)
