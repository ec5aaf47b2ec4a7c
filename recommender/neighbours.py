"""What Pearson CF (:mod:`recommender.pearson`) runs on: the sparse people x movies matrix,
the app users' small matrix, and the Pearson correlation itself.

Pearson correlation on co-rated movies, each side's mean taken over the co-rated movies only;
0 when fewer than 2 movies are co-rated or either side is constant. :func:`pearson_rows`
computes it for many people at once from a dense ``people x profile`` block; :func:`pearson` is
the same for two profiles, written plainly (the tests compare the two).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.vocabulary import lookup


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
        (people,), _ = segments(self.csc.indptr, movie_pos, self.csc.indices)
        return np.bincount(people, minlength=self.n_people)

    def ratings_of(self, people: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every rating of rows ``people``: (index into ``people``, movie column, stars)."""
        (movie, stars), lengths = segments(self.csr.indptr, people, self.csr.indices, self.csr.data)
        owner = np.repeat(np.arange(len(people)), lengths)
        return owner, movie, stars


def segments(
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
class NeighbourRatings:
    """Ratings of a few people, one entry per rating: ``owner`` (index into the list of people),
    ``movie`` (catalogue column) and ``stars`` (0.5–5)."""

    owner: np.ndarray
    movie: np.ndarray
    stars: np.ndarray


@dataclass(frozen=True)
class AppUsers:
    """An immutable snapshot of the app users' ratings: keys and a small :class:`RatingMatrix`."""

    keys: tuple[str, ...]
    matrix: RatingMatrix
    row_of: dict[str, int]

    @classmethod
    def build(cls, profiles: Mapping[str, dict[int, float]], movie_ids: np.ndarray) -> AppUsers:
        keys = tuple(profiles)
        rows, cols, stars = [], [], []
        for row, key in enumerate(keys):
            ids = np.fromiter(profiles[key], dtype=np.int64, count=len(profiles[key]))
            pos, known = lookup(movie_ids, ids)
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


def backed_by_training(
    ratings: NeighbourRatings, is_app: np.ndarray, n_movies: int
) -> NeighbourRatings:
    """Only the app neighbours' ratings of movies that some training neighbour rated too: app
    users can add weight to what real raters back, not bring in a film on their own."""
    from_app = is_app[ratings.owner]
    backed = np.bincount(ratings.movie[~from_app], minlength=n_movies) > 0
    keep = ~from_app | backed[ratings.movie]
    return NeighbourRatings(
        owner=ratings.owner[keep], movie=ratings.movie[keep], stars=ratings.stars[keep]
    )


def most_overlapping(overlap: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest positive ``overlap`` values (ties: lower index first)."""
    people = np.flatnonzero(overlap)
    if len(people) <= n:
        return people
    counts = overlap[people]
    threshold = nth_largest(counts, n)
    above = people[counts > threshold]
    tied = people[counts == threshold][: n - len(above)]
    return np.sort(np.concatenate([above, tied]))


def nth_largest(values: np.ndarray, n: int):
    """The ``n``-th largest of ``values`` (``1 <= n <= len(values)``). Counts (non-negative
    integers no larger than there are values, e.g. how many of a profile's movies each person
    rated: thousands of people share each value) are tallied, which is linear; selecting among
    so many equal values by partitioning is slow. Other values are partitioned."""
    if np.issubdtype(values.dtype, np.integer) and 0 <= values.min() <= values.max() <= len(values):
        at_least = np.cumsum(np.bincount(values)[::-1])  # [i]: how many are >= max - i
        return values.dtype.type(len(at_least) - 1 - np.searchsorted(at_least, n))
    return np.partition(values, len(values) - n)[len(values) - n]
