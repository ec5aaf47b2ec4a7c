"""MovieLens-shaped synthetic data, for benchmarks and scale tests at 25M ratings and beyond.

:func:`make_synthetic` returns a :class:`MovieLens` that looks like ml-25m in the ways that
matter to loaders and models:

- movie popularity is Zipf-like (a few blockbusters, a long tail) and user activity is
  log-normal with at least 20 ratings per user (MovieLens's own rule) when there is room;
- ratings are 0.5–5 stars in half steps, whole stars more common than half stars, mean ≈ 3.5;
- each rating = global mean + user bias + movie bias (popular movies rate a little higher) +
  a dot product of 8 latent tastes (movies' tastes follow their genres) + noise, so
  collaborative filtering has real signal to find;
- every (user, movie) pair occurs at most once; ratings are sorted by userId then movieId;
- movie ids are sparse (drawn from 1..3·n_movies) like MovieLens's, so code that assumes
  contiguous ids fails here too; user ids are 1..n_users.

Everything is vectorised numpy: 25M ratings take about a minute and ~2 GB of memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from recommender.dataset import MovieLens

GENRES = [
    "Drama", "Comedy", "Thriller", "Romance", "Action", "Horror", "Documentary", "Crime",
    "Adventure", "Sci-Fi", "Children", "Animation", "Mystery", "Fantasy", "War", "Western",
    "Musical", "Film-Noir", "IMAX",
]  # fmt: skip
GENRE_WEIGHTS = np.array(
    [25, 16, 8, 7, 7, 5, 5, 5, 4, 4, 3, 3, 3, 3, 2, 1.5, 1.5, 0.5, 0.3], dtype=np.float64
)  # roughly ml-25m's genre frequencies
N_FACTORS = 8
MIN_USER_RATINGS = 20
GLOBAL_MEAN = 3.4
NOISE = 0.6
WHOLE_STAR_SHARE = 0.4
"""Share of ratings given in whole stars (MovieLens users favour them)."""
FIRST_TIMESTAMP, LAST_TIMESTAMP = 946_684_800, 1_574_000_000  # 2000-01-01 .. 2019-11
CHUNK = 2_000_000

Progress = Callable[[str, int], None]
"""Called as ``progress(stage, ratings_done)``; see :func:`make_synthetic`."""


def _no_progress(stage: str, done: int) -> None:
    return None


def _zipf_weights(rng: np.random.Generator, n: int, exponent: float = 1.0) -> np.ndarray:
    """Probabilities ∝ 1/(rank+5)^exponent over ``n`` items, ranks in random order."""
    ranks = rng.permutation(n)
    weights = 1.0 / (ranks + 5.0) ** exponent
    return weights / weights.sum()


def _user_counts(rng: np.random.Generator, n_users: int, n_movies: int, n_ratings: int):
    """Ratings per user (int64, sums to ``n_ratings``): log-normal, floor 20, cap n_movies/3."""
    floor = min(MIN_USER_RATINGS, n_ratings // n_users)
    cap = max(floor + 1, n_movies // 3)
    if n_ratings > cap * n_users:
        raise ValueError(f"{n_ratings} ratings do not fit {n_users} users x {n_movies} movies")
    raw = rng.lognormal(mean=0.0, sigma=1.2, size=n_users)
    counts = floor + np.floor(raw / raw.sum() * (n_ratings - floor * n_users)).astype(np.int64)
    counts = np.minimum(counts, cap)
    while (missing := n_ratings - counts.sum()) > 0:  # hand out what rounding and capping left
        room = np.flatnonzero(counts < cap)
        extra = rng.choice(room, size=min(missing, len(room)), replace=False)
        counts[extra] += 1
    return counts


def _genre_matrix(rng: np.random.Generator, n_movies: int) -> np.ndarray:
    """Bool (n_movies, n_genres): 1–4 genres per movie, drawn by GENRE_WEIGHTS (Gumbel top-k)."""
    n_genres = np.minimum(1 + rng.poisson(0.9, size=n_movies), 4)
    keys = np.log(GENRE_WEIGHTS / GENRE_WEIGHTS.sum()) + rng.gumbel(size=(n_movies, len(GENRES)))
    order = np.argsort(-keys, axis=1)
    matrix = np.zeros((n_movies, len(GENRES)), dtype=bool)
    rows = np.repeat(np.arange(n_movies), n_genres)
    cols = order[rows, np.concatenate([np.arange(k) for k in n_genres])]
    matrix[rows, cols] = True
    return matrix


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort + neighbour compare; numpy 2's hashed unique is slower)."""
    values.sort()
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _unique_pairs(
    rng: np.random.Generator,
    counts: np.ndarray,
    popularity: np.ndarray,
    progress: Progress,
) -> np.ndarray:
    """Sorted unique keys ``user * n_movies + movie`` with about ``counts[u]`` movies per user.

    Draws movies by popularity, drops repeats, and redraws each user's shortfall (uniformly
    after a few rounds, where popular movies are exhausted) until every rating is placed."""
    n_movies = len(popularity)
    cumulative = np.cumsum(popularity)
    keys = np.empty(0, dtype=np.int64)
    for attempt in range(50):
        have = np.bincount(keys // n_movies, minlength=len(counts)) if len(keys) else 0
        short = counts - have
        if not short.any():
            break
        users = np.repeat(np.arange(len(counts), dtype=np.int64), np.maximum(short, 0))
        if attempt < 4:
            draws = rng.random(len(users)) * cumulative[-1]
            movies = np.minimum(np.searchsorted(cumulative, draws), n_movies - 1)
        else:
            movies = rng.integers(0, n_movies, size=len(users))
        keys = _sorted_unique(np.concatenate([keys, users * n_movies + movies]))
        progress("pairs", len(keys))
    return keys


def _ratings_for(
    rng: np.random.Generator,
    users: np.ndarray,
    movies: np.ndarray,
    model: dict[str, np.ndarray],
) -> np.ndarray:
    """Stars (float32, 0.5–5 in half steps) for aligned user and movie indices."""
    taste = np.einsum("ij,ij->i", model["user_factors"][users], model["movie_factors"][movies])
    score = (
        GLOBAL_MEAN
        + model["user_bias"][users]
        + model["movie_bias"][movies]
        + taste
        + rng.normal(0.0, NOISE, size=len(users))
    )
    whole = rng.random(len(users)) < WHOLE_STAR_SHARE
    stars = np.where(whole, np.round(score), np.round(score * 2) / 2)
    return np.clip(stars, 0.5, 5.0).astype(np.float32)


def _taste_model(rng: np.random.Generator, n_users: int, genres: np.ndarray, popularity):
    """Biases and latent factors; movie factors are driven by genres, so tastes follow them."""
    genre_factors = rng.normal(0.0, 1.0, size=(len(GENRES), N_FACTORS))
    per_movie = genres.sum(axis=1, keepdims=True)
    movie_factors = genres @ genre_factors / np.sqrt(per_movie) * 0.8
    movie_factors += rng.normal(0.0, 0.5, size=movie_factors.shape)
    log_pop = np.log(popularity)
    return {
        "user_factors": rng.normal(0.0, 0.35, size=(n_users, N_FACTORS)).astype(np.float32),
        "movie_factors": movie_factors.astype(np.float32),
        "user_bias": rng.normal(0.0, 0.35, size=n_users),
        "movie_bias": rng.normal(0.0, 0.3, size=len(popularity))
        + 0.15 * (log_pop - log_pop.mean()) / log_pop.std(),
    }


def _timestamps(rng: np.random.Generator, users: np.ndarray, n_users: int) -> np.ndarray:
    """Unix seconds: each user starts at a random date and rates over the following months."""
    start = rng.integers(FIRST_TIMESTAMP, LAST_TIMESTAMP - 86_400 * 365, size=n_users)
    offsets = rng.exponential(86_400 * 60, size=len(users)).astype(np.int64)
    return np.minimum(start[users] + offsets, LAST_TIMESTAMP).astype(np.int64)


def _movies_table(rng: np.random.Generator, movie_ids: np.ndarray, genres: np.ndarray):
    """movies (title without year, year Int16, genres list) and links (imdbId, tmdbId)."""
    n = len(movie_ids)
    years = np.clip(np.round(2019 - rng.exponential(18.0, size=n)), 1902, 2019).astype(np.int16)
    titles = [
        f"Synthetic Movie {m}, The" if m % 7 == 0 else f"Synthetic Movie {m}" for m in movie_ids
    ]
    names = np.array(GENRES, dtype=object)
    movies = pd.DataFrame(
        {
            "movieId": movie_ids.astype(np.int32),
            "title": pd.Series(titles, dtype=str),
            "year": pd.array(years, dtype="Int16"),
            "genres": [list(names[row]) for row in genres],
        }
    )
    tmdb = pd.array(rng.choice(np.arange(2, 10 * n + 2), size=n, replace=False), dtype="Int64")
    tmdb[rng.random(n) < 0.001] = pd.NA
    links = pd.DataFrame(
        {
            "movieId": movie_ids.astype(np.int32),
            "imdbId": pd.array(rng.choice(np.arange(1, 9_999_999), n, replace=False), "Int64"),
            "tmdbId": tmdb,
        }
    )
    return movies, links


def make_synthetic(
    n_users: int,
    n_movies: int,
    n_ratings: int,
    seed: int = 0,
    progress: Progress | None = None,
) -> MovieLens:
    """A MovieLens-shaped dataset with exactly ``n_ratings`` ratings (see module docstring).

    Inputs: sizes (ml-25m is 162,000 users, 62,000 movies, 25,000,000 ratings), ``seed`` for
    repeatability, optional ``progress(stage, count)`` callback. Output: :class:`MovieLens`
    named ``"synthetic"`` with the normalised dtypes of :mod:`recommender.dataset`.
    """
    progress = progress or _no_progress
    rng = np.random.default_rng(seed)
    movie_ids = np.sort(rng.choice(np.arange(1, 3 * n_movies + 1), n_movies, replace=False))
    popularity = _zipf_weights(rng, n_movies)
    genres = _genre_matrix(rng, n_movies)
    counts = _user_counts(rng, n_users, n_movies, n_ratings)
    keys = _unique_pairs(rng, counts, popularity, progress)
    model = _taste_model(rng, n_users, genres, popularity)
    users = (keys // n_movies).astype(np.int32)
    movie_index = (keys % n_movies).astype(np.int32)
    del keys
    stars = np.empty(len(users), dtype=np.float32)
    for start in range(0, len(users), CHUNK):
        part = slice(start, start + CHUNK)
        stars[part] = _ratings_for(rng, users[part], movie_index[part], model)
        progress("ratings", min(start + CHUNK, len(users)))
    ratings = pd.DataFrame(
        {
            "userId": users + np.int32(1),
            "movieId": movie_ids.astype(np.int32)[movie_index],
            "rating": stars,
            "timestamp": _timestamps(rng, users, n_users),
        }
    )
    movies, links = _movies_table(rng, movie_ids, genres)
    return MovieLens(name="synthetic", ratings=ratings, movies=movies, links=links)
