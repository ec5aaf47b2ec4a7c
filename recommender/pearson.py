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
at once; the neighbours' sparse rows give all predictions with one weighted ``bincount``. The
matrices and the correlation live in :mod:`recommender.neighbours`.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

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
from recommender.neighbours import (
    AppUsers,
    NeighbourRatings,
    RatingMatrix,
    backed_by_training,
    most_overlapping,
    pearson_rows,
)
from recommender.popularity import DEFAULT_DAMPING, MovieStats, catalogue_ids
from recommender.vocabulary import lookup, position_of, positions_in, unique_ids

_TIER = 1e7
"""Offset between rank tiers; larger than any score inside a tier."""


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
            self._app = AppUsers.build(profiles, self.movie_ids)
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
            app = AppUsers.build(profiles, self.movie_ids)
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
        cand = most_overlapping(overlap, self.candidates)

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
            ratings = backed_by_training(ratings, nb >= len(self.user_ids), len(self.movie_ids))
        return self._scores(nb, nb_sim, nb_co, ratings, app, profile_mean)

    def _profile_positions(self, profile: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """Catalogue column and stars of the profile's known movies (unknown ones are ignored)."""
        ids = np.fromiter(profile, dtype=np.int64, count=len(profile))
        stars = np.fromiter(profile.values(), dtype=np.float64, count=len(profile))
        pos, known = lookup(self.movie_ids, ids)
        return pos[known], stars[known]

    def _own_row(self, user: UserKey | None, app: AppUsers) -> int | None:
        """Row (in training + app numbering) of the person asking, so they are not a neighbour."""
        if isinstance(user, str):
            row = app.row_of.get(user)
            return None if row is None else len(self.user_ids) + row
        if user is not None:
            return position_of(self.user_ids, int(user))
        return None

    def _ratings_of(self, people: np.ndarray, app: AppUsers) -> NeighbourRatings:
        """Every rating of ``people`` (rows in training + app numbering), see
        :class:`~recommender.neighbours.NeighbourRatings`."""
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
        return NeighbourRatings(owner=owner, movie=movie, stars=stars.astype(np.float64))

    def _dense_block(
        self, ratings: NeighbourRatings, n_people: int, movie_pos: np.ndarray
    ) -> np.ndarray:
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
        ratings: NeighbourRatings,
        app: AppUsers,
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
        # match: the share of the taste neighbours who gave it 4★+ (how likely a person with
        # this taste loves it), so the served list, ordered by match, keeps movies they rated
        # low behind those they loved
        match = 100.0 * liked / n_nb if n_nb else np.zeros(n_movies)
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

    def _person(self, row: int, app: AppUsers) -> UserKey:
        """Training userId (int) or app user key (str) of a row in training + app numbering."""
        n_train = len(self.user_ids)
        return int(self.user_ids[row]) if row < n_train else app.keys[row - n_train]
