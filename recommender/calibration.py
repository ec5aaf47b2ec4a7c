"""Calibration of the match percentage: scores -> probabilities that hold up on new users.

**Match percentage** (the definition the README quotes): *the estimated probability, as a
percentage 0–100, that this person would rate this movie 4 stars or more if they rated it.*
It is ``100 × P(rating >= 4 | the person rates the movie, their profile)``, estimated by the
blend's match model and calibrated on held-out ratings of users the models never saw (a
calibration split of the training users; isotonic regression by default, Platt scaling as an
option). "Calibrated" means: among all movies shown with a match near 80%, about 80% get 4★+
from the people who rate them; the expected calibration error (ECE, 10 equal-width bins) on the
new-user protocol is reported by ``scripts/evaluate_blend.py`` next to a reliability plot.

Note the difference from the *ranking* score: the list is ordered by the probability that the
person rates the movie 4★+ *at all* (watches it and likes it), which also rewards movies
they are likely to watch; the match shown is conditional on rating it.

Everything here works on plain arrays: ``score`` is any real number (higher = more likely),
``prob`` is in [0, 1], ``outcome`` is 0/1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class Calibrator:
    """The calibrator family: a monotone map from a score to a probability (0–1).

    ``fit(score, outcome)`` learns it (returns ``self``), calling it maps scores of any shape,
    ``to_dict()`` describes it for a manifest. Members: :class:`IsotonicCalibrator`,
    :class:`PlattCalibrator` and its star-rating form :class:`StarsCalibrator`.
    """

    method: str

    def fit(self, score: Sequence[float], outcome: Sequence[bool]) -> Calibrator:
        raise NotImplementedError

    def __call__(self, score: Sequence[float]) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict:
        raise NotImplementedError


class IsotonicCalibrator(Calibrator):
    """Monotone map score -> probability, fitted by isotonic regression (clipped at the ends).

    ``min_prob``/``max_prob`` keep the output away from 0 and 1, so a match is never shown as a
    certainty.
    """

    method = "isotonic"

    def __init__(self, min_prob: float = 0.01, max_prob: float = 0.99):
        self.min_prob = min_prob
        self.max_prob = max_prob
        self.x_: np.ndarray | None = None
        self.y_: np.ndarray | None = None

    def fit(self, score: Sequence[float], outcome: Sequence[bool]) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        score = np.asarray(score, dtype=np.float64)
        outcome = np.asarray(outcome, dtype=np.float64)
        iso = IsotonicRegression(
            y_min=self.min_prob, y_max=self.max_prob, out_of_bounds="clip"
        ).fit(score, outcome)
        self.x_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
        self.y_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        return self

    def __call__(self, score: Sequence[float]) -> np.ndarray:
        """Calibrated probabilities (0–1) of ``score`` (any shape)."""
        if self.x_ is None:
            raise RuntimeError("calibrator is not fitted")
        return np.interp(np.asarray(score, dtype=np.float64), self.x_, self.y_)

    def to_dict(self) -> dict:
        return {"method": self.method, "x": self.x_.tolist(), "y": self.y_.tolist()}


class PlattCalibrator(Calibrator):
    """Logistic map ``1 / (1 + exp(-(a * score + b)))`` fitted by maximum likelihood.

    ``C``: inverse L2 strength of the logistic fit (large = plain maximum likelihood). With
    outcomes all 0 or all 1 there is nothing to fit and ``a``, ``b`` are kept.
    """

    method = "platt"

    def __init__(self, a: float = 1.0, b: float = 0.0, *, C: float = 1e6):
        self.a = float(a)
        self.b = float(b)
        self.C = C

    def fit(self, score: Sequence[float], outcome: Sequence[bool]) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        outcome = np.asarray(outcome, dtype=int)
        if outcome.all() or not outcome.any():
            return self
        score = np.asarray(score, dtype=np.float64).reshape(-1, 1)
        lr = LogisticRegression(C=self.C).fit(score, outcome)
        self.a, self.b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        return self

    def __call__(self, score: Sequence[float]) -> np.ndarray:
        z = self.a * np.asarray(score, dtype=np.float64) + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {"method": self.method, "a": self.a, "b": self.b}


class StarsCalibrator(PlattCalibrator):
    """Platt scaling of predicted *stars* into the match percentage of the single models
    (item-knn, mf-sgd, autorec, the neural models): ``match = 100 · sigmoid(slope · stars +
    intercept)`` ≈ 100 · P(rating ≥ 4). The default (before fitting) puts 50% at 3.75★.
    """

    def __init__(self, slope: float = 2.0, intercept: float = -7.5):
        super().__init__(slope, intercept, C=100.0)

    @property
    def slope(self) -> float:
        return self.a

    @property
    def intercept(self) -> float:
        return self.b

    @classmethod
    def fitted(cls, predicted: np.ndarray, actual: np.ndarray) -> StarsCalibrator:
        """Fitted on predicted stars against actual stars (liked = 4★+)."""
        from recommender.base import LIKED_RATING

        return cls().fit(np.asarray(predicted), np.asarray(actual) >= LIKED_RATING)

    def match(self, predicted: np.ndarray) -> np.ndarray:
        """Match percentages (0–100) of predicted stars."""
        return 100.0 * self(predicted)

    def to_dict(self) -> dict:
        return {"slope": self.slope, "intercept": self.intercept}


def make_calibrator(method: str = "isotonic") -> Calibrator:
    """``"isotonic"`` or ``"platt"``."""
    if method == "isotonic":
        return IsotonicCalibrator()
    if method == "platt":
        return PlattCalibrator()
    raise ValueError(f"unknown calibration method {method!r}; use 'isotonic' or 'platt'")


@dataclass
class Reliability:
    """Per-bin reliability figures (arrays of shape ``(bins,)``; empty bins have count 0).

    ``mean_prob``: average predicted probability in the bin; ``share``: observed share of
    outcomes; ``count``: pairs in the bin; ``ece``: expected calibration error (0–1).
    """

    edges: np.ndarray
    mean_prob: np.ndarray
    share: np.ndarray
    count: np.ndarray
    ece: float


def reliability(prob: Sequence[float], outcome: Sequence[bool], bins: int = 10) -> Reliability:
    """Reliability table of probabilities ``prob`` (0–1) against 0/1 ``outcome``.

    Bins are ``bins`` equal-width intervals of [0, 1] (1.0 falls in the last). ECE is the
    count-weighted mean over bins of ``|mean prob - share|`` (the project's one ECE
    definition).
    """
    prob = np.clip(np.asarray(prob, dtype=np.float64), 0.0, 1.0)
    outcome = np.asarray(outcome, dtype=np.float64)
    if prob.shape != outcome.shape:
        raise ValueError("prob and outcome must have the same length")
    which = np.minimum((prob * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.int64)
    sum_p = np.bincount(which, weights=prob, minlength=bins)
    sum_o = np.bincount(which, weights=outcome, minlength=bins)
    safe = np.maximum(count, 1)
    ece = float(np.abs(sum_p - sum_o).sum() / count.sum()) if count.sum() else math.nan
    return Reliability(
        edges=np.linspace(0.0, 1.0, bins + 1),
        mean_prob=np.where(count > 0, sum_p / safe, np.nan),
        share=np.where(count > 0, sum_o / safe, np.nan),
        count=count,
        ece=ece,
    )


def expected_calibration_error(
    prob: Sequence[float], outcome: Sequence[bool], bins: int = 10
) -> float:
    """ECE (0–1) of ``prob`` against ``outcome``; see :func:`reliability`."""
    return reliability(prob, outcome, bins).ece


def plot_reliability(
    curves: dict[str, tuple[Sequence[float], Sequence[bool]]],
    path: Path,
    bins: int = 10,
    title: str = "Match percentage reliability (new users)",
) -> Path:
    """Save a reliability diagram (PNG) with one curve per ``{label: (prob, outcome)}``.

    x: predicted probability (match / 100), y: observed share rated 4★+; the diagonal is
    perfect calibration. A lower panel shows how many pairs fall in each bin.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6, 7), gridspec_kw={"height_ratios": [3, 1]}, sharex=True
    )
    top.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    width = 1.0 / bins / (len(curves) + 1)
    for i, (label, (prob, outcome)) in enumerate(curves.items()):
        rel = reliability(prob, outcome, bins)
        filled = rel.count > 0
        top.plot(
            rel.mean_prob[filled], rel.share[filled], "o-", label=f"{label} (ECE {rel.ece:.3f})"
        )
        bottom.bar(rel.edges[:-1] + (i + 0.5) * width, rel.count, width=width, label=label)
    top.set_ylabel("observed share rated 4★+")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)
    bottom.set_xlabel("predicted probability (match / 100)")
    bottom.set_ylabel("pairs")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
