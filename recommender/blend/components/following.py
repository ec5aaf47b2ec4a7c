"""Blend component ``following``: "people who started with Heat went on to love this".

Item co-ratings in time order. Each training person's ratings are put in time order (ties by
movie id, as the evaluation does); their first ``K`` ratings are their *start*, the rest what
they *went on to* rate. For a profile and every catalogue movie ``j`` (arrays ``(n,)``):

- ``following_rated``: mean over the profile's movies ``i`` of ``P(went on to rate j | started
  with i) = #(started with i, later rated j) / (#started with i + shrinkage)``;
- ``following_liked``: the same for "went on to rate j 4★+";
- ``following_liked_share``: of the people who started with the profile's movies and later
  rated ``j``, the share who gave it 4★+ (smoothed towards the share of all later ratings);
- ``following_next_share``: the same, each starter's later 4★+ ratings counted as one vote
  shared among them (``j``'s share of what starters went on to love: a person who later loved
  2,000 movies says less about each than one who loved 20);
- ``following_lift_log``: log of ``following_rated`` over ``j``'s base rate of being rated
  later by anyone;
- ``following_rated_relative`` / ``following_liked_relative``: both conditional shares over
  this profile's best movie (comparable across profile sizes).

Unlike :mod:`~recommender.blend.components.coliked` (which counts any two ratings of one
person), it knows which came first: what a new person rates *next* is what the list is for.
Two starts are kept, ``K`` = 5 and 20; a profile is scored with the one nearer its size.
Cost per profile: sparse products over the rows of the people who started with its movies
only, the people counted capped at ``max_people`` (a fixed random sample beyond it, as
CoLiked's).
Candidates: the top movies by ``following_rated`` and ``following_liked``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.base import LIKED_RATING, UserKey
from recommender.blend.component import Catalogue, Component, Opinion, TrainingData
from recommender.coliked import MAX_PEOPLE
from recommender.dataset import sample_people
from recommender.reasons import known, stars
from recommender.vocabulary import positions_in

STARTS: tuple[int, ...] = (5, 20)
"""How many first ratings make a person's start (one set of statistics each)."""

SHRINKAGE = 5.0
"""Added to the number of people who started with a movie, so rare starts weigh less."""

MIN_FOLLOWING_SHARE = 0.05
"""Share of starters below which "went on to rate it 4★+" is not claimed."""

MIN_FOLLOWING_PEOPLE = 3
"""Fewest starters behind a reason sentence."""


def _relative(values: np.ndarray) -> np.ndarray:
    top = float(values.max(initial=0.0))
    return values / top if top > 0 else values


@dataclass
class Start:
    """Statistics for starts of ``k`` ratings: ``start`` (people x movies, 1 where a movie is
    among the person's first ``k``), ``later_rated`` / ``later_liked`` (1 where rated / rated
    4★+ after them; CSR), ``vote`` (1 / each person's number of later 4★+ ratings),
    ``n_start`` (people who started with each movie), ``base_rated`` (share of people with a
    start who later rated each movie) and ``liked_share`` (share of later ratings that are
    4★+)."""

    k: int
    start: sp.csc_matrix
    later_rated: sp.csr_matrix
    later_liked: sp.csr_matrix
    vote: np.ndarray
    n_start: np.ndarray
    base_rated: np.ndarray
    liked_share: float

    @classmethod
    def build(cls, k: int, rows, cols, position, liked, shape) -> Start:
        def matrix(mask):
            ones = np.ones(int(mask.sum()), dtype=np.float32)
            m = sp.csr_matrix((ones, (rows[mask], cols[mask])), shape=shape)
            m.data[:] = 1.0  # repeated ratings of one movie count once
            return m

        early = position < k
        start = matrix(early).tocsc()
        later_rated = matrix(~early)
        later_liked = matrix(~early & liked)
        n_start = np.asarray(start.sum(axis=0)).ravel()
        starters = max(int((np.diff(start.tocsr().indptr) > 0).sum()), 1)
        n_later = float(later_rated.sum())
        loved = np.diff(later_liked.indptr).astype(np.float64)
        return cls(
            k=k,
            start=start,
            later_rated=later_rated,
            later_liked=later_liked,
            vote=1.0 / np.maximum(loved, 1.0),
            n_start=n_start,
            base_rated=np.asarray(later_rated.sum(axis=0)).ravel() / starters,
            liked_share=float(later_liked.sum()) / n_later if n_later else 0.5,
        )


@dataclass
class FollowingOpinion(Opinion):
    """Arrays ``(n,)`` over the catalogue (see the module docstring); ``start`` and ``pos``
    (the profile's known columns) give the evidence for chosen movies."""

    rated: np.ndarray
    liked: np.ndarray
    liked_share: np.ndarray
    next_share: np.ndarray
    lift_log: np.ndarray
    start: Start
    pos: np.ndarray
    profile: dict[int, float]
    catalogue: Catalogue

    def features(self, idx: np.ndarray) -> np.ndarray:
        return np.column_stack(
            [
                self.rated[idx],
                self.liked[idx],
                self.liked_share[idx],
                self.next_share[idx],
                self.lift_log[idx],
                _relative(self.rated)[idx],
                _relative(self.liked)[idx],
            ]
        )

    def candidates(self) -> list[np.ndarray]:
        return [self.rated, self.liked]

    def evidence(self, idx: np.ndarray) -> list[dict[str, Any]]:
        idx = np.asarray(idx, dtype=np.int64)
        if not len(self.pos) or not len(idx):
            return [{} for _ in range(len(idx))]
        s = self.start
        # only a movie the person liked is cited ("you: 1★" would read as an odd reason)
        ids = self.catalogue.movie_ids[self.pos]
        liked = np.array([self.profile.get(int(m), 0.0) >= LIKED_RATING for m in ids])
        pos = self.pos[liked]
        if not len(pos):
            return [{} for _ in range(len(idx))]
        # (liked profile movies, chosen movies): people who started with i and later liked j
        both = (s.start[:, pos].T @ s.later_liked[:, idx]).toarray()
        starters = s.n_start[pos][:, None]
        share = both / np.maximum(starters, 1.0)
        best = np.argmax(both / (starters + SHRINKAGE), axis=0)  # rare starts weigh less
        out: list[dict[str, Any]] = []
        for col, row in enumerate(best):
            people = int(s.n_start[pos[row]])
            if both[row, col] <= 0:
                out.append({})
                continue
            movie = int(self.catalogue.movie_ids[pos[row]])
            out.append(
                {
                    "following_movie": movie,
                    "following_title": self.catalogue.titles.get(movie),
                    "following_your_rating": float(self.profile.get(movie, np.nan)),
                    "following_share": round(float(share[row, col]), 3),
                    "following_people": people,
                }
            )
        return out


class FollowingComponent(Component):
    name = "following"
    features = (
        "following_rated",
        "following_liked",
        "following_liked_share",
        "following_next_share",
        "following_lift_log",
        "following_rated_relative",
        "following_liked_relative",
    )

    def __init__(self, starts: tuple[int, ...] = STARTS, max_people: int = MAX_PEOPLE):
        self.starts = tuple(starts)
        self.max_people = int(max_people)

    def fit(self, data: TrainingData) -> FollowingComponent:
        fitted = self.clone()
        fitted.catalogue = data.catalogue
        ids = data.catalogue.movie_ids
        ratings = data.ratings[data.ratings["movieId"].isin(ids)]
        ratings = sample_people(ratings, max_people=self.max_people, seed=0)
        ordered = ratings.sort_values(["userId", "timestamp", "movieId"], kind="stable")
        users, rows = np.unique(ordered["userId"].to_numpy(dtype=np.int64), return_inverse=True)
        cols = positions_in(ids, ordered["movieId"].to_numpy(dtype=np.int64))
        # position of each rating in its person's time order (rows are grouped by person)
        first = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
        position = np.arange(len(rows)) - np.repeat(first, np.diff(np.r_[first, len(rows)]))
        liked = ordered["rating"].to_numpy() >= LIKED_RATING
        shape = (len(users), len(ids))
        fitted.by_k = {k: Start.build(k, rows, cols, position, liked, shape) for k in self.starts}
        return fitted

    def _start_for(self, size: int) -> Start:
        k = min(self.by_k, key=lambda k: (abs(np.log(max(size, 1) / k)), -k))
        return self.by_k[k]

    def opinion(self, profile: dict[int, float], user: UserKey | None) -> FollowingOpinion | None:
        ids = np.array(list(profile), dtype=np.int64)
        pos, known_ = self.catalogue.lookup(ids)
        pos = pos[known_]
        s = self._start_for(len(profile))
        pos = pos[s.n_start[pos] > 0]
        if not len(pos):
            return None
        weights = np.column_stack([1.0 / (s.n_start[pos] + SHRINKAGE), np.ones(len(pos))])
        starts = s.start[:, pos]
        people = np.unique(starts.indices)  # only those who started with a profile movie
        per_person = starts[people] @ weights  # (people, 2)
        rated = np.asarray(s.later_rated[people].T @ per_person)  # (n, 2)
        per_person = np.column_stack([per_person, per_person[:, 0] * s.vote[people]])
        liked = np.asarray(s.later_liked[people].T @ per_person)  # (n, 3)
        rated[pos] = 0.0  # the profile's own movies are not what comes next
        liked[pos] = 0.0
        share = (liked[:, 1] + 2.0 * s.liked_share) / (rated[:, 1] + 2.0)
        mean_rated = rated[:, 0] / len(pos)
        lift = np.log((mean_rated + 1e-4) / (s.base_rated + 1e-4))
        return FollowingOpinion(
            rated=mean_rated,
            liked=liked[:, 0] / len(pos),
            liked_share=share,
            next_share=liked[:, 2] / len(pos),
            lift_log=lift,
            start=s,
            pos=pos,
            profile=profile,
            catalogue=self.catalogue,
        )

    @staticmethod
    def sentence(evidence: Mapping[str, Any]) -> str | None:
        title, rating = evidence.get("following_title"), evidence.get("following_your_rating")
        share = evidence.get("following_share", 0.0) or 0.0
        people = evidence.get("following_people", 0) or 0
        enough = share >= MIN_FOLLOWING_SHARE and people >= MIN_FOLLOWING_PEOPLE
        if title and known(rating) and enough:
            return (
                f"people who started with {title} (you: {stars(rating)}) went on to love "
                f"it — {round(100 * share)}% of them later gave it 4★+"
            )
        return None
