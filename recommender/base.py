"""The one interface every recommender model implements.

A model is fitted once on MovieLens ratings, then answers questions about a **profile**: a
mapping ``{movieId: rating}`` (ratings on the 0.5–5 star scale) of any person, including one
who signed up after training. A model implements two methods:

- :meth:`Recommender.fit` learns from a ratings table;
- :meth:`Recommender.score` scores every movie of its catalogue for one profile.

Everything else — predicting ratings for chosen movies, the top-k list that never contains a
rated movie, restricting to candidate movies, the per-movie evidence — is shared here, once,
in the spirit of ``implicit``'s ``RecommenderBase`` and Surprise's ``AlgoBase.predict``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from recommender.vocabulary import lookup, position_of

Profile = Mapping[int, float]
"""A person's ratings: ``{movieId: stars}`` with stars in 0.5–5.0."""

UserKey = int | str
"""A training ``userId`` (int) or an app user's key (str)."""

MIN_RATING = 0.5
MAX_RATING = 5.0
LIKED_RATING = 4.0
"""A rating at or above this counts as "liked" (relevant) everywhere in the project."""


class InvalidProfile(ValueError):
    """A profile holds a rating outside 0.5–5 or a non-integer movie id."""


def training_row(sorted_user_ids: np.ndarray, user: UserKey | None) -> int | None:
    """Row of ``user`` in a model's sorted ``int64`` training user ids, or ``None`` when the
    key is not a training user (an app user's string key, or an id the model never saw)."""
    if not isinstance(user, (int, np.integer)):
        return None
    return position_of(sorted_user_ids, int(user))


def validate_profile(profile: Profile) -> dict[int, float]:
    """Return ``profile`` as a plain ``{int: float}`` dict, or raise :class:`InvalidProfile`."""
    clean: dict[int, float] = {}
    for movie_id, rating in profile.items():
        try:
            movie_id_int, stars = int(movie_id), float(rating)
        except (TypeError, ValueError) as exc:
            raise InvalidProfile(f"not a movie id and rating: {movie_id!r}: {rating!r}") from exc
        if movie_id_int != movie_id or not (MIN_RATING <= stars <= MAX_RATING) or math.isnan(stars):
            raise InvalidProfile(f"rating {rating!r} for movie {movie_id!r} is outside 0.5–5")
        clean[movie_id_int] = stars
    return clean


def top_k(movie_ids: np.ndarray, rank: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest ``rank`` values (``(m,)``, NaN lowest), best first; ties
    go to the lower movie id (``movie_ids`` aligned with ``rank``), so a list is reproducible."""
    k = min(k, len(rank))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    key = np.where(np.isnan(rank), -np.inf, rank)
    kth = np.partition(key, len(key) - k)[len(key) - k]
    chosen = np.flatnonzero(key >= kth)  # the k best and everything tied with the k-th
    order = np.lexsort((movie_ids[chosen], -key[chosen]))
    return chosen[order[:k]]


@dataclass
class Scores:
    """A model's opinion of every movie in its catalogue, for one profile.

    All arrays are aligned with ``movie_ids`` (shape ``(n_movies,)``):

    - ``predicted``: the expected rating on the 0.5–5 scale, ``NaN`` where the model cannot say;
    - ``rank``: the ordering key, higher is recommended first (may differ from ``predicted``,
      e.g. Pearson ranks by how many neighbours rated a movie);
    - ``match``: the match percentage 0–100 the app shows;
    - ``evidence``: named per-movie arrays (e.g. ``neighbours_rated``) copied into each
      recommendation's evidence dict;
    - ``context``: anything not per movie that explains the list (e.g. the neighbours).
    """

    movie_ids: np.ndarray
    predicted: np.ndarray
    rank: np.ndarray
    match: np.ndarray
    evidence: dict[str, np.ndarray] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recommendations:
    """The top of a ranked list for one profile, best first (all arrays shape ``(k,)``).

    ``predicted`` is on the 0.5–5 scale, ``match`` is 0–100, ``evidence`` holds one JSON-able
    dict per movie (``None`` for a movie left unexplained with ``explain_first``: ask
    :meth:`Recommender.explain` when it is shown), and ``context`` is the model's list-wide
    explanation (see :class:`Scores`). ``explainer`` (when the model gives one) returns the
    evidence of chosen movies from the same scoring pass, exactly what
    :meth:`Recommender.explain` would (``{}`` for an unknown movie, in the order given), without
    scoring the profile again: for the movies a page shows that ``explain_first`` left out.
    """

    movie_ids: np.ndarray
    scores: np.ndarray
    predicted: np.ndarray
    match: np.ndarray
    evidence: list[dict[str, Any] | None]
    context: dict[str, Any] = field(default_factory=dict)
    explainer: Callable[[Iterable[int]], list[dict[str, Any]]] | None = field(
        default=None, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.movie_ids)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _evidence_at(scores: Scores, i: int) -> dict[str, Any]:
    """The evidence of movie ``scores.movie_ids[i]`` as a JSON-able dict."""
    return {name: _jsonable(values[i]) for name, values in scores.evidence.items()}


class Recommender(ABC):
    """Base class of every model. Subclasses set ``name`` and implement ``fit`` and ``score``.

    After ``fit``, ``movie_ids`` holds the catalogue the model can score (sorted ``int64``) and
    ``default_rating`` the rating predicted when the model has no opinion (the global mean).
    """

    name: ClassVar[str] = "base"

    movie_ids: np.ndarray
    default_rating: float = 3.5

    @abstractmethod
    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> Recommender:
        """Learn from ``ratings`` (columns userId, movieId, rating, timestamp).

        ``movies`` (columns movieId, title, year, genres) adds movies nobody rated to the
        catalogue and gives content models their features. Returns ``self``.
        """

    @abstractmethod
    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Score every movie in ``self.movie_ids`` for ``profile`` (see :class:`Scores`).

        ``user`` optionally names the person: a training ``userId`` (a model may then use what
        it learned about them, e.g. their trained embedding) or an app user's key (a
        neighbourhood model then never uses the person as their own neighbour). Without it the
        profile is treated as a stranger's.
        """

    def predict(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> np.ndarray:
        """Predicted ratings (0.5–5, shape ``(len(movie_ids),)``) of ``profile`` for ``movie_ids``.

        Movies the model does not know, or cannot score, get ``default_rating``.
        """
        scores = self.score(validate_profile(profile), user=user)
        wanted = np.asarray(list(movie_ids), dtype=np.int64)
        predicted = np.full(len(wanted), self.default_rating, dtype=np.float64)
        pos, known = self._positions(wanted)
        values = scores.predicted[pos[known]]
        predicted[known] = np.where(np.isnan(values), self.default_rating, values)
        return np.clip(predicted, MIN_RATING, MAX_RATING)

    def predict_match(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> np.ndarray:
        """Match percentages (0–100) of ``profile`` for ``movie_ids``; unknown movies get 0."""
        scores = self.score(validate_profile(profile), user=user)
        wanted = np.asarray(list(movie_ids), dtype=np.int64)
        match = np.zeros(len(wanted), dtype=np.float64)
        pos, known = self._positions(wanted)
        match[known] = np.nan_to_num(scores.match[pos[known]])
        return np.clip(match, 0.0, 100.0)

    def recommend(
        self,
        profile: Profile,
        k: int = 24,
        *,
        candidates: Iterable[int] | None = None,
        exclude: Iterable[int] = (),
        user: UserKey | None = None,
        explain_first: int | None = None,
        also: Iterable[int] = (),
    ) -> Recommendations:
        """The ``k`` best movies for ``profile``, best first.

        Never returns a movie in the profile or in ``exclude``. With ``candidates``, only those
        movies are ranked (e.g. a genre filter or a text-search result). ``explain_first``: give
        evidence for the first n movies only (``None``: all); the rest get ``None``, for
        :meth:`explain` to fill in when they are shown. ``also``: movies ranked after the top
        ``k`` (those of them not in it, known and not excluded), best first, from the same
        scoring pass — what :func:`recommender.rerank.widened` adds to a list.
        """
        profile = validate_profile(profile)
        scores = self.score(profile, user=user)
        allowed = np.ones(len(scores.movie_ids), dtype=bool)
        if candidates is not None:
            allowed &= np.isin(scores.movie_ids, np.fromiter(candidates, dtype=np.int64))
        banned = np.fromiter([*profile, *exclude], dtype=np.int64)
        allowed &= ~np.isin(scores.movie_ids, banned)
        pool = np.flatnonzero(allowed)
        top = pool[top_k(scores.movie_ids[pool], scores.rank[pool], k)]
        more = np.isin(scores.movie_ids, np.fromiter(also, dtype=np.int64))
        more[top] = False
        more = np.flatnonzero(more & ~np.isin(scores.movie_ids, banned))
        top = np.concatenate(
            [top, more[top_k(scores.movie_ids[more], scores.rank[more], len(more))]]
        )
        evidence = [_evidence_at(scores, i) for i in top]
        if explain_first is not None:
            evidence[explain_first:] = [None] * max(len(evidence) - explain_first, 0)
        predicted = np.where(
            np.isnan(scores.predicted[top]), self.default_rating, scores.predicted[top]
        )
        return Recommendations(
            movie_ids=scores.movie_ids[top].astype(np.int64),
            scores=scores.rank[top].astype(np.float64),
            predicted=np.clip(predicted, MIN_RATING, MAX_RATING),
            match=np.clip(np.nan_to_num(scores.match[top]), 0.0, 100.0),
            evidence=evidence,
            context=scores.context,
            explainer=lambda movie_ids: self._explain_scored(scores, movie_ids),
        )

    def explain(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> list[dict[str, Any]]:
        """The evidence :meth:`recommend` gives, for chosen ``movie_ids`` (``{}`` for a movie the
        model does not know), in the order given."""
        return self._explain_scored(self.score(validate_profile(profile), user=user), movie_ids)

    def _explain_scored(self, scores: Scores, movie_ids: Iterable[int]) -> list[dict[str, Any]]:
        """:meth:`explain` from ``scores`` already computed for the profile."""
        wanted = np.asarray(list(movie_ids), dtype=np.int64)
        pos, known = self._positions(wanted)
        return [_evidence_at(scores, p) if ok else {} for p, ok in zip(pos, known, strict=True)]

    def _positions(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of each wanted id in ``self.movie_ids`` and a mask of ids that are known."""
        return lookup(self.movie_ids, wanted)
