"""The blend's feature matrix: one row per (profile, movie), one column per feature.

Columns (:class:`FeatureLayout`): the profile's size (log), mean rating and share of 4★+, then
each component's :attr:`~recommender.blend.component.Component.features` in registry order,
each optional component followed by its ``<name>_missing`` indicator. A component that is
absent, or has no opinion about a movie, leaves NaN, which :func:`fill` replaces by the
feature's *neutral* value (its training mean where the component was present), in the spirit
of LensKit's ``FallbackScorer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.base import LIKED_RATING
from recommender.blend.component import Component, Opinions

PROFILE_FEATURES: tuple[str, ...] = ("profile_size_log", "profile_mean", "profile_liked_share")


@dataclass(frozen=True)
class FeatureLayout:
    """Column names and where each component's columns are.

    ``columns[name]``: the component's feature columns (without the indicator);
    ``missing[name]``: its indicator column (optional components only).
    """

    names: tuple[str, ...]
    columns: dict[str, np.ndarray]
    missing: dict[str, int]

    @classmethod
    def of(cls, components: Sequence[type[Component]]) -> FeatureLayout:
        names = list(PROFILE_FEATURES)
        columns: dict[str, np.ndarray] = {}
        missing: dict[str, int] = {}
        for component in components:
            start = len(names)
            names += component.features
            columns[component.name] = np.arange(start, len(names))
            if component.optional:
                missing[component.name] = len(names)
                names.append(f"{component.name}_missing")
        return cls(tuple(names), columns, missing)

    def __len__(self) -> int:
        return len(self.names)


def profile_features(profile: dict[int, float], default_rating: float) -> np.ndarray:
    """``(3,)``: log(1 + size), mean stars (``default_rating`` when empty), share of 4★+."""
    stars = np.array(list(profile.values()), dtype=np.float64)
    return np.array(
        [
            np.log1p(len(profile)),
            float(stars.mean()) if len(stars) else default_rating,
            float((stars >= LIKED_RATING).mean()) if len(stars) else 0.0,
        ]
    )


def feature_matrix(
    layout: FeatureLayout,
    opinions: Opinions,
    idx: np.ndarray,
    default_rating: float,
    *,
    drop: str | None = None,
) -> np.ndarray:
    """``(len(idx), len(layout))`` for catalogue positions ``idx``, NaN where a component has
    no value; ``drop`` names a component treated as missing (training-time dropout)."""
    X = np.full((len(idx), len(layout)), np.nan)
    X[:, : len(PROFILE_FEATURES)] = profile_features(opinions.profile, default_rating)
    X[:, list(layout.missing.values())] = 1.0
    for name, opinion in opinions.by_component.items():
        if name == drop or name not in layout.columns:
            continue
        X[:, layout.columns[name]] = opinion.features(idx)
        if name in layout.missing:
            X[:, layout.missing[name]] = 0.0
    return X


def neutral_values(layout: FeatureLayout, X: np.ndarray) -> np.ndarray:
    """``(n_features,)``: each feature's mean over the rows of ``X`` where its component was
    present (0 when it never was); indicators are 0."""
    neutral = np.zeros(len(layout))
    groups = {"profile": np.arange(len(PROFILE_FEATURES)), **layout.columns}
    for name, cols in groups.items():
        present = np.ones(len(X), bool)
        if name in layout.missing:
            present = X[:, layout.missing[name]] == 0
        if not present.any():
            continue
        for col in cols:
            values = X[present, col]
            neutral[col] = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
    return neutral


def fill(X: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """``X`` with NaN (no opinion) replaced by the feature's neutral value."""
    bad = np.isnan(X)
    if bad.any():
        X = X.copy()
        X[bad] = np.take(neutral, np.nonzero(bad)[1])
    return X


def blank(X: np.ndarray, layout: FeatureLayout, neutral: np.ndarray, names: Sequence[str]):
    """A copy of filled rows ``X`` with components ``names`` made missing (neutral values,
    indicator 1)."""
    out = X.copy()
    for name in names:
        cols = layout.columns[name]
        out[:, cols] = neutral[cols]
        out[:, layout.missing[name]] = 1.0
    return out


def within_profile(X: np.ndarray, columns: np.ndarray, sizes: Sequence[int] | None = None):
    """``X`` (filled rows) with three columns added per column of ``columns``, each relative to
    the rows of the same profile: the percentile rank (0–1, ties averaged), the z-score, and
    the difference from the profile's highest value. ``sizes``: the lengths of the consecutive
    blocks of rows that belong to one profile (``None``: all rows are one profile's
    candidates). Output ``(len(X), X.shape[1] + 3 * len(columns))``."""
    from scipy.stats import rankdata

    extra = np.zeros((len(X), 3 * len(columns)))
    start = 0
    for size in [len(X)] if sizes is None else sizes:
        block = X[start : start + size][:, columns]
        if size:
            pct = rankdata(block, axis=0) / size
            z = (block - block.mean(axis=0)) / (block.std(axis=0) + 1e-9)
            extra[start : start + size] = np.hstack([pct, z, block - block.max(axis=0)])
        start += size
    return np.hstack([X, extra])
