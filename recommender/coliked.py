"""Item-to-item co-rating evidence: "people who liked Heat also liked this".

From the training ratings two binary people x movies matrices are kept (``scipy.sparse``):
*rated* (any rating) and *liked* (4★+). For a profile ``{movieId: stars}`` and every movie
``j`` of the catalogue, :meth:`CoLiked.score` returns (all arrays shape ``(n_movies,)``):

- ``liked_given_liked``: mean over the profile's liked movies ``i`` of
  ``P(liked j | liked i) = #people who liked both / #people who liked i`` (0–1);
- ``rated_given_rated``: mean over all the profile's movies ``i`` of
  ``P(rated j | rated i)`` (0–1) — how often people who saw the profile's movies saw ``j``;
- ``liked_cosine``: mean over liked ``i`` of ``#both / sqrt(#liked i * #liked j)`` (0–1),
  which, unlike the conditional probability, does not favour blockbusters;
- ``best_liked`` (movie id, or -1) and ``best_liked_share``: the liked profile movie ``i``
  with the highest ``P(liked j | liked i)`` and that probability — the evidence shown as
  "people who liked Heat (you: 5★) rate it highly".

When the profile likes nothing, its best-rated movies stand in as "liked". Cost: two sparse
products over the people who rated the profile's movies — about a millisecond on
ml-latest-small. That grows with the number of people, so the statistics come from at most
``max_people`` of them (:data:`MAX_PEOPLE`, a fixed random sample when there are more): the
shares are then estimates from that sample, and a profile costs the same at 162,000 people
(ml-25m) as at 20,000.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.base import LIKED_RATING
from recommender.dataset import sample_people
from recommender.vocabulary import lookup, positions_in

MAX_PEOPLE = 20_000
"""Most people whose ratings the co-rating statistics count (a random sample beyond that)."""


class CoLiked:
    """Co-rating statistics of a ratings table (see module docstring).

    ``movie_ids`` (sorted int64) defines the columns; ratings of other movies are ignored.
    ``max_people``: at most this many people are counted (a random sample, ``seed``).
    """

    def __init__(
        self,
        ratings: pd.DataFrame,
        movie_ids: np.ndarray,
        max_people: int = MAX_PEOPLE,
        seed: int = 0,
    ):
        self.movie_ids = np.asarray(movie_ids, dtype=np.int64)
        ratings = ratings[ratings["movieId"].isin(self.movie_ids)]
        ratings = sample_people(ratings, max_people=max_people, seed=seed)
        users, rows = np.unique(ratings["userId"].to_numpy(dtype=np.int64), return_inverse=True)
        cols = positions_in(self.movie_ids, ratings["movieId"].to_numpy(dtype=np.int64))
        shape = (len(users), len(self.movie_ids))
        ones = np.ones(len(rows), dtype=np.float32)
        self.rated = sp.csr_matrix((ones, (rows, cols)), shape=shape)
        self.rated.data[:] = 1.0  # repeated ratings of one movie count once
        liked = ratings["rating"].to_numpy() >= LIKED_RATING
        self.liked = sp.csr_matrix((ones[liked], (rows[liked], cols[liked])), shape=shape)
        self.liked.data[:] = 1.0
        self.rated_csc = self.rated.tocsc()
        self.liked_csc = self.liked.tocsc()
        self.n_rated = np.asarray(self.rated.sum(axis=0)).ravel()
        self.n_liked = np.asarray(self.liked.sum(axis=0)).ravel()
        self.n_people = len(users)

    def positions(self, movie_ids) -> tuple[np.ndarray, np.ndarray]:
        """Column of each known id and a mask of which ids are known."""
        return lookup(self.movie_ids, movie_ids)

    def co_liked(self, columns: np.ndarray) -> np.ndarray:
        """``(n_movies, len(columns))`` float32: how many people liked both each movie and the
        movie of each of ``columns``. Counted from the liked rows of only the people who liked
        that movie (a few thousand at ml-25m size), not by a product over every person."""
        both = np.empty((len(self.movie_ids), len(columns)), dtype=np.float32)
        for j, column in enumerate(columns):
            people = self.liked_csc.indices[
                self.liked_csc.indptr[column] : self.liked_csc.indptr[column + 1]
            ]
            both[:, j] = np.bincount(self.liked[people].indices, minlength=len(self.movie_ids))
        return both

    def score(self, profile: Mapping[int, float]) -> dict[str, np.ndarray]:
        """Co-rating features of every movie for ``profile`` (see module docstring)."""
        n = len(self.movie_ids)
        ids = list(profile)
        pos, known = self.positions(ids)
        stars = np.array([profile[m] for m in ids], dtype=np.float64)[known]
        pos = pos[known]
        out = {
            "liked_given_liked": np.zeros(n),
            "rated_given_rated": np.zeros(n),
            "liked_cosine": np.zeros(n),
            "best_liked": np.full(n, -1, dtype=np.int64),
            "best_liked_share": np.zeros(n),
        }
        if not len(pos):
            return out
        # P(rated j | rated i), averaged over the profile's movies
        seen = self.n_rated[pos] > 0
        if seen.any():
            weights = 1.0 / self.n_rated[pos[seen]]
            per_person = self.rated_csc[:, pos[seen]] @ weights  # (people,)
            out["rated_given_rated"] = (self.rated.T @ per_person) / seen.sum()
        liked = stars >= LIKED_RATING
        if not liked.any():
            liked = stars == stars.max()
        lpos = pos[liked]
        lpos = lpos[self.n_liked[lpos] > 0]
        if not len(lpos):
            return out
        both = self.co_liked(lpos)
        share = both / self.n_liked[lpos][None, :]
        share[lpos, np.arange(len(lpos))] = 0.0  # a movie is not its own evidence
        out["liked_given_liked"] = share.mean(axis=1)
        denom = np.sqrt(np.outer(np.maximum(self.n_liked, 1.0), self.n_liked[lpos]))
        out["liked_cosine"] = (both / denom).mean(axis=1)
        best = np.argmax(share, axis=1)
        best_share = share[np.arange(n), best]
        out["best_liked"] = np.where(best_share > 0, self.movie_ids[lpos][best], -1)
        out["best_liked_share"] = best_share
        return out
