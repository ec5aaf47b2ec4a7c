"""User-based collaborative filtering with Pearson correlation, for any profile.

The procedure (the reference system's), for one profile ``{movieId: stars}``:

1. **Candidate neighbours**: the ``candidates`` (100) people who rated the most movies of the
   profile (ties: lower row first). People with no movie in common are never candidates.
2. **Similarity**: Pearson correlation on the co-rated movies, each side's mean taken over the
   co-rated movies only; 0 when fewer than 2 movies are co-rated or either side is constant.
3. **Neighbours**: the ``neighbours`` (50) most similar candidates (ties: more co-rated first).
4. **Predicted rating** of a movie: ``sum(sim * r) / sum(|sim|)`` over the neighbours with a
   positive similarity who rated it (0.5–5 stars). Movies no such neighbour rated get the
   movie's damped mean rating (see :mod:`recommender.popularity`).
5. **Ranking** (``Scores.rank`` tiers, highest first):

   - tier 2: movies predicted ``>= min_predicted`` (4.0), by how many neighbours rated them
     (then by prediction) — "popular among people like you";
   - tier 1: the other movies some neighbour rated, by prediction (then neighbours who rated);
   - tier 0: every other movie, by global popularity (4+ ratings).

   So a page is never short, and :meth:`Recommender.recommend` drops the rated movies.
6. **Match** = ``neighbours_rated / neighbour_count * 100`` (0–100). Per-movie evidence:
   ``neighbours_rated`` and ``neighbours_liked`` (neighbours who gave it 4+), counted over all
   neighbours; ``Scores.context`` holds ``neighbours`` (``user``, ``similarity``, ``co_rated``)
   and ``neighbour_count``.

People are the MovieLens training users (an ``int`` userId) and the app's users, added with
:meth:`PearsonRecommender.upsert_user` (a ``str`` key) without retraining: they live in a second,
small matrix rebuilt on every change. ``score(profile, user=key)`` never uses that person as their
own neighbour.

Everything is vectorised with ``scipy.sparse``: the CSC matrix answers "who rated these movies"
by column gathering + ``bincount``; a dense ``candidates x profile`` block gives all correlations
at once; the neighbours' sparse rows give all predictions with one weighted ``bincount``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.base import (
    LIKED_RATING,
    MAX_RATING,
    MIN_RATING,
    Profile,
    Recommender,
    Scores,
    UserKey,
    validate_profile,
)
from recommender.popularity import (
    DEFAULT_DAMPING,
    MovieStats,
    catalogue_ids,
    positions_in,
    unique_ids,
)

_TIER = 1e7
"""Offset between rank tiers; larger than any score inside a tier."""


@dataclass(frozen=True)
class RatingMatrix:
    """People x movies stars (``float32``, 0 = not rated) in CSR (rows) and CSC (columns) form."""

    csr: sp.csr_matrix
    csc: sp.csc_matrix

    @classmethod
    def build(cls, rows: np.ndarray, cols: np.ndarray, stars: np.ndarray, shape: tuple[int, int]):
        """From coordinates; ``(row, col)`` pairs must be unique."""
        csr = sp.csr_matrix((stars.astype(np.float32), (rows, cols)), shape=shape)
        csr.sort_indices()
        return cls(csr=csr, csc=csr.tocsc())

    @property
    def n_people(self) -> int:
        return self.csr.shape[0]

    def overlap(self, movie_pos: np.ndarray) -> np.ndarray:
        """How many of the movies ``movie_pos`` (columns) each person rated, ``(n_people,)``."""
        (people,), _ = _segments(self.csc.indptr, movie_pos, self.csc.indices)
        return np.bincount(people, minlength=self.n_people)

    def ratings_of(self, people: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every rating of rows ``people``: (index into ``people``, movie column, stars)."""
        (movie, stars), lengths = _segments(
            self.csr.indptr, people, self.csr.indices, self.csr.data
        )
        owner = np.repeat(np.arange(len(people)), lengths)
        return owner, movie, stars


def _segments(
    indptr: np.ndarray, picked: np.ndarray, *arrays: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """The compressed rows/columns ``picked`` of each of ``arrays`` (``indices``, ``data``),
    concatenated, and the length of each picked row/column.

    One slice per picked row/column: the loop is over the profile's movies or the ~100
    candidates, never over all people, and copies each entry once.
    """
    starts, ends = indptr[picked], indptr[np.asarray(picked) + 1]
    bounds = list(zip(starts.tolist(), ends.tolist(), strict=True))
    out = [
        np.concatenate([array[a:b] for a, b in bounds]) if bounds else array[:0] for array in arrays
    ]
    return out, (ends - starts).astype(np.int64)


def pearson_rows(x: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of ``x`` (shape ``(m,)``) with every row of ``block`` (``(c, m)``).

    Stars are 0.5–5; 0 means "not rated". Each pair is compared on its co-rated movies only, with
    each side's mean over those movies. Returns ``(similarity, co_rated)``, both shape ``(c,)``:
    similarity in [-1, 1], 0 when fewer than 2 movies are co-rated or a side is constant.
    """
    x = np.asarray(x, dtype=np.float64)
    block = np.asarray(block, dtype=np.float64)
    if block.ndim == 1:
        block = block[None, :]
    both = (block > 0) & (x > 0)
    co_rated = both.sum(axis=1)
    n = np.maximum(co_rated, 1)
    xs = np.where(both, x, 0.0)
    ys = np.where(both, block, 0.0)
    dx = np.where(both, xs - (xs.sum(axis=1) / n)[:, None], 0.0)
    dy = np.where(both, ys - (ys.sum(axis=1) / n)[:, None], 0.0)
    cov = (dx * dy).sum(axis=1)
    var = (dx * dx).sum(axis=1) * (dy * dy).sum(axis=1)
    # Stars are multiples of 0.5, so a constant side gives an exact 0 variance; the threshold
    # only guards against rounding of non-grid ratings.
    ok = (co_rated >= 2) & (var > 1e-12)
    similarity = np.zeros(len(block))
    similarity[ok] = cov[ok] / np.sqrt(var[ok])
    return np.clip(similarity, -1.0, 1.0), co_rated


def pearson(a: Mapping[int, float], b: Mapping[int, float]) -> float:
    """Pearson correlation of two profiles ``{movieId: stars}`` on their co-rated movies."""
    movies = sorted(set(a) & set(b))
    if not movies:
        return 0.0
    x = np.array([a[m] for m in movies], dtype=np.float64)
    y = np.array([[b[m] for m in movies]], dtype=np.float64)
    return float(pearson_rows(x, y)[0][0])


@dataclass(frozen=True)
class _Ratings:
    """Ratings of a few people, one entry per rating: ``owner`` (index into the list of people),
    ``movie`` (catalogue column) and ``stars`` (0.5–5)."""

    owner: np.ndarray
    movie: np.ndarray
    stars: np.ndarray


@dataclass(frozen=True)
class _AppUsers:
    """An immutable snapshot of the app users' ratings: keys and a small :class:`RatingMatrix`."""

    keys: tuple[str, ...]
    matrix: RatingMatrix
    row_of: dict[str, int]

    @classmethod
    def build(cls, profiles: Mapping[str, dict[int, float]], movie_ids: np.ndarray) -> _AppUsers:
        keys = tuple(profiles)
        rows, cols, stars = [], [], []
        for row, key in enumerate(keys):
            ids = np.fromiter(profiles[key], dtype=np.int64, count=len(profiles[key]))
            pos = np.searchsorted(movie_ids, ids)
            pos = np.minimum(pos, len(movie_ids) - 1)
            known = movie_ids[pos] == ids
            rows.append(np.full(int(known.sum()), row, dtype=np.int64))
            cols.append(pos[known])
            stars.append(np.fromiter(profiles[key].values(), dtype=np.float32)[known])
        cat = lambda parts, t: np.concatenate(parts) if parts else np.zeros(0, t)  # noqa: E731
        matrix = RatingMatrix.build(
            cat(rows, np.int64),
            cat(cols, np.int64),
            cat(stars, np.float32),
            (len(keys), len(movie_ids)),
        )
        return cls(keys=keys, matrix=matrix, row_of={key: row for row, key in enumerate(keys)})


class PearsonRecommender(Recommender):
    """User-based Pearson CF for any profile (see the module docstring for the procedure).

    ``candidates``: people considered (most co-rated movies first), ``neighbours``: the most
    similar of them used, ``min_predicted``: stars a movie needs (0.5–5) to be in the first tier,
    ``damping``: shrinkage of the fallback movie means (pseudo-ratings); ``centred=True``
    predicts with Resnick's mean-centred formula instead (profile mean + similarity-weighted
    deviations of the neighbours from their own mean ratings) — not the reference procedure,
    but a better rating predictor.

    ``max_app_neighbours`` (attribute, default ``None`` = off): at most this many app users
    (added with :meth:`upsert_user`) among a profile's neighbours, the rest being training
    users, and an app neighbour's rating counts only for movies some training neighbour rated
    too; bounds what any number of fake accounts can do to a person's list (the worker sets
    it, see ``worker/trust.py``).
    """

    name = "pearson"

    def __init__(
        self,
        candidates: int = 100,
        neighbours: int = 50,
        min_predicted: float = 4.0,
        damping: float = DEFAULT_DAMPING,
        centred: bool = False,
    ) -> None:
        if candidates < 1 or neighbours < 1:
            raise ValueError("candidates and neighbours must be >= 1")
        self.candidates = int(candidates)
        self.neighbours = int(neighbours)
        self.min_predicted = float(min_predicted)
        self.damping = float(damping)
        self.centred = bool(centred)
        self.max_app_neighbours: int | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        """Picklable (the lock is not): a fitted model can be saved as an artifact."""
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------- training

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> PearsonRecommender:
        """Build the people x movies matrix from ``ratings`` (userId, movieId, rating 0.5–5).

        A person's repeated rating of one movie keeps the latest (by ``timestamp`` if present).
        App users added before are kept (re-indexed on the new catalogue).
        """
        self.movie_ids = catalogue_ids(ratings, movies)
        self.user_ids = unique_ids(ratings["userId"].to_numpy())
        self._train = self._matrix(ratings)
        if self._train.csr.nnz < len(ratings):  # repeated (user, movie) pairs were summed
            latest = ratings.sort_values("timestamp") if "timestamp" in ratings else ratings
            ratings = latest.drop_duplicates(["userId", "movieId"], keep="last")
            self._train = self._matrix(ratings)
        stats = MovieStats(ratings, self.movie_ids)
        self.default_rating = stats.global_mean
        self._fallback = stats.damped_mean(self.damping)
        popularity = stats.liked + self._fallback / 10.0
        self._popularity = popularity / (popularity.max(initial=0.0) + 1.0)  # in [0, 1)
        with self._lock:
            profiles = getattr(self, "_app_profiles", {})
            self._app_profiles = profiles
            self._app = _AppUsers.build(profiles, self.movie_ids)
        return self

    def _matrix(self, ratings: pd.DataFrame) -> RatingMatrix:
        rows = positions_in(self.user_ids, ratings["userId"].to_numpy())
        cols = positions_in(self.movie_ids, ratings["movieId"].to_numpy())
        stars = ratings["rating"].to_numpy(dtype=np.float32)
        return RatingMatrix.build(rows, cols, stars, (len(self.user_ids), len(self.movie_ids)))

    # ----------------------------------------------------------------------------- app users

    def upsert_user(self, user: str, profile: Profile | None) -> None:
        """Add, replace or (``None``/empty profile) remove app user ``user`` as a neighbour.

        Cost: rebuilding the app users' matrix, proportional to all app users' ratings — no
        rebuild of the MovieLens matrix. Safe to call while other threads score.
        """
        if not isinstance(user, str):
            raise TypeError("app users are keyed by str; training users are ints")
        clean = validate_profile(profile) if profile else None
        with self._lock:
            profiles = dict(self._app_profiles)
            if clean:
                profiles[user] = clean
            else:
                profiles.pop(user, None)
            app = _AppUsers.build(profiles, self.movie_ids)
            self._app_profiles, self._app = profiles, app

    @property
    def app_users(self) -> tuple[str, ...]:
        """Keys of the app users currently used as neighbours."""
        return self._app.keys

    # ----------------------------------------------------------------------------- scoring

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Score every catalogue movie for ``profile`` (see the module docstring)."""
        profile = validate_profile(profile)
        app = self._app  # one snapshot for the whole request
        movie_pos, stars = self._profile_positions(profile)

        overlap = np.concatenate([self._train.overlap(movie_pos), app.matrix.overlap(movie_pos)])
        self_row = self._own_row(user, app)
        if self_row is not None:
            overlap[self_row] = 0
        cand = _most_overlapping(overlap, self.candidates)

        block = self._dense_block(self._ratings_of(cand, app), len(cand), movie_pos)
        similarity, co_rated = pearson_rows(stars, block)
        order = np.lexsort((cand, -co_rated, -similarity))
        cap = getattr(self, "max_app_neighbours", None)  # absent in models pickled before
        if cap is not None:  # at most `cap` app users among the neighbours (shilling)
            is_app = cand[order] >= len(self.user_ids)
            order = order[~is_app | (np.cumsum(is_app) <= cap)]
        order = order[: self.neighbours]
        nb, nb_sim, nb_co = cand[order], similarity[order], co_rated[order]

        profile_mean = float(stars.mean()) if len(stars) else self.default_rating
        ratings = self._ratings_of(nb, app)
        if cap is not None:
            ratings = _backed_by_training(ratings, nb >= len(self.user_ids), len(self.movie_ids))
        return self._scores(nb, nb_sim, nb_co, ratings, app, profile_mean)

    def _profile_positions(self, profile: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """Catalogue column and stars of the profile's known movies (unknown ones are ignored)."""
        ids = np.fromiter(profile, dtype=np.int64, count=len(profile))
        stars = np.fromiter(profile.values(), dtype=np.float64, count=len(profile))
        if not len(ids) or not len(self.movie_ids):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        pos = np.minimum(np.searchsorted(self.movie_ids, ids), len(self.movie_ids) - 1)
        known = self.movie_ids[pos] == ids
        return pos[known], stars[known]

    def _own_row(self, user: UserKey | None, app: _AppUsers) -> int | None:
        """Row (in training + app numbering) of the person asking, so they are not a neighbour."""
        if isinstance(user, str):
            row = app.row_of.get(user)
            return None if row is None else len(self.user_ids) + row
        if user is not None:
            row = int(np.searchsorted(self.user_ids, int(user)))
            if row < len(self.user_ids) and self.user_ids[row] == int(user):
                return row
        return None

    def _ratings_of(self, people: np.ndarray, app: _AppUsers) -> _Ratings:
        """Every rating of ``people`` (rows in training + app numbering), see :class:`_Ratings`."""
        n_train = self._train.n_people
        parts = []
        for matrix, mine, offset in (
            (self._train, people < n_train, 0),
            (app.matrix, people >= n_train, n_train),
        ):
            which = np.flatnonzero(mine)
            owner, movie, stars = matrix.ratings_of(people[which] - offset)
            parts.append((which[owner], movie, stars))
        owner, movie, stars = (np.concatenate(column) for column in zip(*parts, strict=True))
        return _Ratings(owner=owner, movie=movie, stars=stars.astype(np.float64))

    def _dense_block(self, ratings: _Ratings, n_people: int, movie_pos: np.ndarray) -> np.ndarray:
        """Stars on the profile's movies, dense ``(n_people, n_profile)``, 0 = not rated."""
        column_of = np.full(len(self.movie_ids), -1, dtype=np.int64)
        column_of[movie_pos] = np.arange(len(movie_pos))
        col = column_of[ratings.movie]
        keep = col >= 0
        block = np.zeros((n_people, len(movie_pos)))
        block[ratings.owner[keep], col[keep]] = ratings.stars[keep]
        return block

    def _scores(
        self,
        nb: np.ndarray,
        nb_sim: np.ndarray,
        nb_co: np.ndarray,
        ratings: _Ratings,
        app: _AppUsers,
        profile_mean: float,
    ) -> Scores:
        """Predictions, rank tiers, match and evidence from the neighbours' ratings."""
        n_movies = len(self.movie_ids)
        # non-positive similarities weigh 0: they never count in a prediction
        weight = np.maximum(nb_sim, 0.0)[ratings.owner]
        movie, stars = ratings.movie.astype(np.intp), ratings.stars
        rated = np.bincount(movie, minlength=n_movies)
        liked = np.bincount(movie, weights=stars >= LIKED_RATING, minlength=n_movies)
        if self.centred:  # Resnick: profile mean + weighted deviations from each one's mean
            per_person = np.bincount(ratings.owner, minlength=len(nb))
            person_mean = np.bincount(ratings.owner, weights=stars, minlength=len(nb)) / np.maximum(
                per_person, 1
            )
            deviation = stars - person_mean[ratings.owner]
            num = np.bincount(movie, weights=weight * deviation, minlength=n_movies)
        else:
            num = np.bincount(movie, weights=weight * stars, minlength=n_movies)
        den = np.bincount(movie, weights=weight, minlength=n_movies)
        has_prediction = den > 0
        from_neighbours = np.divide(num, den, out=np.zeros(n_movies), where=has_prediction)
        if self.centred:
            centred = np.clip(profile_mean + from_neighbours, MIN_RATING, MAX_RATING)
            from_neighbours = np.where(has_prediction, centred, 0.0)
        predicted = np.where(has_prediction, from_neighbours, self._fallback)

        # weighted means of multiples of 0.5 may land a hair under 4.0; do not lose those
        qualifies = has_prediction & (from_neighbours >= self.min_predicted - 1e-9)
        n_nb = len(nb)
        rank = np.where(
            qualifies,
            2 * _TIER + rated * 10.0 + from_neighbours,
            np.where(
                rated > 0,
                _TIER + from_neighbours * 1e3 + rated / (n_nb + 1.0),
                self._popularity,
            ),
        )
        match = 100.0 * rated / n_nb if n_nb else np.zeros(n_movies)
        return Scores(
            movie_ids=self.movie_ids,
            predicted=predicted,
            rank=rank,
            match=match,
            evidence={"neighbours_rated": rated, "neighbours_liked": liked.astype(np.int64)},
            context={
                "neighbours": [
                    {"user": self._person(int(p), app), "similarity": float(s), "co_rated": int(c)}
                    for p, s, c in zip(nb, nb_sim, nb_co, strict=True)
                ],
                "neighbour_count": n_nb,
            },
        )

    def _person(self, row: int, app: _AppUsers) -> UserKey:
        """Training userId (int) or app user key (str) of a row in training + app numbering."""
        n_train = len(self.user_ids)
        return int(self.user_ids[row]) if row < n_train else app.keys[row - n_train]


def _backed_by_training(ratings: _Ratings, is_app: np.ndarray, n_movies: int) -> _Ratings:
    """Only the app neighbours' ratings of movies that some training neighbour rated too: app
    users can add weight to what real raters back, not bring in a film on their own."""
    from_app = is_app[ratings.owner]
    backed = np.bincount(ratings.movie[~from_app], minlength=n_movies) > 0
    keep = ~from_app | backed[ratings.movie]
    return _Ratings(owner=ratings.owner[keep], movie=ratings.movie[keep], stars=ratings.stars[keep])


def _most_overlapping(overlap: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest positive ``overlap`` values (ties: lower index first)."""
    people = np.flatnonzero(overlap)
    if len(people) <= n:
        return people
    counts = overlap[people]
    threshold = np.partition(counts, len(counts) - n)[len(counts) - n]
    above = people[counts > threshold]
    tied = people[counts == threshold][: n - len(above)]
    return np.sort(np.concatenate([above, tied]))
