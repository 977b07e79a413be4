"""Successive halving against a counting oracle: a trial stops at a rung iff at least
ceil(n/eta) of the n finished peers there did strictly better."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from stridekit.experiments.halving import HalvingRule, rung_values, rungs

values = st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.8, 0.9]), max_size=12)


@given(
    peers=values,
    value=st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.8, 0.9]),
    eta=st.integers(2, 4),
    maximize=st.booleans(),
)
def test_rule_matches_counting(peers: list[float], value: float, eta: int, maximize: bool) -> None:
    rule = HalvingRule("acc", maximize, eta, {3: tuple(peers)})
    better = sum((p > value) if maximize else (p < value) for p in peers)
    expected = len(peers) >= eta and better >= math.ceil(len(peers) / eta)
    assert rule(3, {"acc": value}) is expected
    assert rule(4, {"acc": value}) is False  # not a rung: never stops


def test_rungs_grow_by_eta_below_the_training() -> None:
    # 1, 3, 9 epochs with eta 3 under 27; 2·2^k under 10: 2, 4, 8
    assert rungs(1, 3, 27) == (1, 3, 9)
    assert rungs(2, 2, 10) == (2, 4, 8)


def test_rung_values_skip_missing_metrics() -> None:
    histories = [[{"epoch": 1, "acc": 0.5}, {"epoch": 2, "loss": 1.0}], None, []]
    assert rung_values(histories, "acc", (1, 2)) == {1: (0.5,)}
