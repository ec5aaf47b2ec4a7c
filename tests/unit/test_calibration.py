"""Calibration of the match percentage on synthetic data whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.calibration import (
    IsotonicCalibrator,
    PlattCalibrator,
    expected_calibration_error,
    make_calibrator,
    plot_reliability,
    reliability,
)


def _synthetic(rng: np.random.Generator, n: int = 40_000):
    """Scores in [-3, 3]; the true probability of a 4★+ rating is sigmoid(2 * score - 1)."""
    score = rng.uniform(-3, 3, n)
    truth = 1.0 / (1.0 + np.exp(-(2.0 * score - 1.0)))
    outcome = rng.random(n) < truth
    return score, truth, outcome


def test_ece_of_a_hand_computed_case():
    # bin 0: two pairs at 0.05, one success -> |0.1 - 1| ; bin 9: two at 0.95, both -> |1.9 - 2|
    prob = [0.05, 0.05, 0.95, 0.95]
    outcome = [0, 1, 1, 1]
    assert expected_calibration_error(prob, outcome) == pytest.approx((0.9 + 0.1) / 4)
    table = reliability(prob, outcome)
    assert table.count[0] == 2 and table.count[9] == 2 and table.count[1:9].sum() == 0
    assert table.share[0] == pytest.approx(0.5) and table.mean_prob[9] == pytest.approx(0.95)


def test_isotonic_recovers_the_true_probability(rng):
    score, truth, outcome = _synthetic(rng)
    calibrator = IsotonicCalibrator().fit(score, outcome)
    fresh_score, fresh_truth, fresh_outcome = _synthetic(np.random.default_rng(7))
    prob = calibrator(fresh_score)
    assert np.mean(np.abs(prob - fresh_truth)) < 0.03
    assert expected_calibration_error(prob, fresh_outcome) < 0.02
    assert (np.diff(calibrator(np.linspace(-3, 3, 50))) >= 0).all()  # monotone
    assert prob.min() >= 0.01 and prob.max() <= 0.99  # never a certainty


def test_platt_recovers_the_known_slope_and_intercept(rng):
    score, _, outcome = _synthetic(rng)
    platt = PlattCalibrator().fit(score, outcome)
    assert platt.a == pytest.approx(2.0, abs=0.1)
    assert platt.b == pytest.approx(-1.0, abs=0.1)


def test_calibration_fixes_a_miscalibrated_score(rng):
    score, truth, outcome = _synthetic(rng)
    overconfident = truth**3  # ranks right, probabilities wrong
    assert expected_calibration_error(overconfident, outcome) > 0.1
    calibrated = make_calibrator("isotonic").fit(overconfident, outcome)(overconfident)
    assert expected_calibration_error(calibrated, outcome) < 0.02
    with pytest.raises(ValueError):
        make_calibrator("magic")


def test_reliability_plot_is_written(tmp_path, rng):
    score, truth, outcome = _synthetic(rng, 2000)
    path = plot_reliability({"true": (truth, outcome)}, tmp_path / "plots" / "rel.png")
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
