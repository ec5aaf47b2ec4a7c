"""Less of the same: re-ranking a model's list between *familiar* and *discover*.

Any model's list (its top movies, best first; :func:`widened` adds the model's own ranking of
the most-rated movies of the person's main genres, which a documentary lover's list may lack)
is re-ordered for one person by a greedy pass that, at each slot, takes the movie with the
highest

    relevance(position) − discover · (popularity penalty + genre penalties − genre gain)

- **relevance** of position ``i`` (0 = the model's first) in the model's list of ``N``:
  ``1 − log(1 + i) / log(1 + N)``. Positions, not scores, so the stage works for every model
  (Pearson, the blend, …) whatever the scale of its scores.
- **popularity penalty**: ``log(1 + ratings) / log(1 + ratings of the most-rated movie)``
  (0–1) above :data:`OWN_POPULARITY` × the person's own (the mean of that figure over the
  movies they rated): people who rate blockbusters keep more of them.
- **the person's genres** ``p_g``: each movie rated above 2.5★ spreads ``stars − 2.5`` over its
  genres. **Distinctive genres** ``d_g ∝ p_g · log(p_g / base_g)`` (where positive; ``base``:
  each genre's share of all ratings) — what this person likes more than people on average.
- **genre penalties**: the share of a movie's genres outside every liked genre
  (:data:`OUTSIDE_WEIGHT`), and the distinctive weight the movie lacks (:data:`MISS_WEIGHT`).
- **genre gain** (calibrated genre coverage, after Steck 2018, "Calibrated
  recommendations", as diminishing returns): ``Σ_g d_g · share_g(movie) / (1 + slots the list
  already gave g)`` — a person with three genres gets all three, in proportion.
- genre terms are multiplied by the person's **focus** (:data:`FOCUS_BOOST`): about 1 for most
  people, up to 9 for someone whose ratings are all of one niche genre.

Re-ranking decides which movies make each page; within a page they are shown in the model's
order (:func:`pages_in_model_order`), so a page still reads best match first.

``discover`` is the person's setting, 0.0–1.0: 0 is the model's own order (familiar), 1 the
strongest re-ranking; :data:`DEFAULT_DISCOVER` is what a person gets when they have not moved
the control. Its effect on NDCG@24, the share of slots taken by the 100 most-rated movies and
personalisation: ``python -m scripts.evaluate_blend --discover 0 0.25 0.5 0.75 1`` (README,
"Less of the same"; plot ``docs/discover_tradeoff.png``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.vocabulary import lookup

DEFAULT_DISCOVER = 0.3
"""The served setting when a person has not chosen one (README, "Less of the same")."""

# The weights below are the relevance (0–1) given up or gained at ``discover = 1``; at the
# default setting they count half. Chosen on the new-user protocol (held-out users of seed 0,
# README "Less of the same"): the largest that keep NDCG@24 within 5% of the model's order.

POPULARITY_WEIGHT = 1.2
"""Per unit of popularity (0–1) above the person's own (see :data:`OWN_POPULARITY`)."""

OWN_POPULARITY = 0.8
"""Share of the person's own taste for popular movies (the mean popularity of the movies they
rated) that is not penalised."""

OUTSIDE_WEIGHT = 0.25
"""For a movie whose genres are all outside every genre the person liked (in proportion to the
share of its genres that are)."""

MISS_WEIGHT = 0.25
"""For a movie that has none of the person's distinctive genres (:func:`distinctive_genres`;
in proportion to the distinctive weight it lacks), times the focus."""

GENRE_WEIGHT = 2.0
"""For a full unit of genre gain (a movie wholly of the person's one distinctive genre, while
the list has none yet), times the focus."""

FOCUS_BOOST, FOCUS_POWER = 8.0, 3.0
"""Focus = ``1 + FOCUS_BOOST · (largest distinctive genre weight) ** FOCUS_POWER``: 1.0–1.2
for most people after five ratings, up to 9 for someone whose ratings are all of one niche
genre (the documentary lover), whose genre then fills their list."""

MAIN_GENRE_SHARE = 0.2
"""A genre with at least this share of the person's distinctive genres is a main genre."""
MAIN_GENRES = 3
"""At most this many main genres."""
PER_GENRE = 30
"""Movies of each main genre added to the model's list before re-ranking (:func:`widened`)."""

LIKED_FROM = 2.5
"""Stars above which a rated movie adds its genres to the person's genres."""


@dataclass(frozen=True)
class MovieFacts:
    """What re-ranking knows about each catalogue movie (arrays aligned with ``movie_ids``).

    ``movie_ids``: sorted int64 ``(n,)``; ``popularity``: 0–1 (see the module docstring);
    ``genre_share``: ``(n, n_genres)`` float, each row the movie's genres summing to 1 (0 for
    a movie without genres); ``genre_base``: ``(n_genres,)`` each genre's share of all ratings
    (every rating spread over its movie's genres), what an average person's genres look like.
    """

    movie_ids: np.ndarray
    popularity: np.ndarray
    genre_share: np.ndarray
    genre_base: np.ndarray

    @classmethod
    def build(cls, movie_ids, rating_counts, genre_matrix) -> MovieFacts:
        """From the catalogue's ids ``(n,)``, rating counts ``(n,)`` and 0/1 genre matrix
        ``(n, n_genres)`` (any order of ids: they are sorted here)."""
        ids = np.asarray(movie_ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        raw = np.asarray(rating_counts, dtype=np.float64)[order]
        counts = np.log1p(raw)
        genres = np.asarray(genre_matrix, dtype=np.float64)[order]
        per_movie = genres.sum(axis=1, keepdims=True)
        share = np.divide(genres, per_movie, out=np.zeros_like(genres), where=per_movie > 0)
        top = counts.max() if len(counts) and counts.max() > 0 else 1.0
        base = raw @ share
        base = base / base.sum() if base.sum() > 0 else np.full(share.shape[1], 1 / share.shape[1])
        return cls(ids[order], counts / top, share, base)

    @classmethod
    def from_catalog(cls, catalog) -> MovieFacts:
        """From a :class:`recommender.catalog.Catalog` (the worker's catalogue)."""
        return cls.build(catalog.ids, catalog.rating_counts, catalog.genre_matrix)

    @classmethod
    def from_ratings(cls, ratings, movies) -> MovieFacts:
        """From a ratings table (userId, movieId, rating) and a movies table (movieId,
        genres as lists): popularity from these ratings (e.g. an evaluation's training part)."""
        from recommender.catalog import count_ratings

        ids = movies["movieId"].to_numpy(dtype=np.int64)
        names = sorted({g for gs in movies["genres"] for g in gs})
        column = {g: i for i, g in enumerate(names)}
        matrix = np.zeros((len(ids), max(len(names), 1)))
        for row, gs in enumerate(movies["genres"]):
            for g in gs:
                matrix[row, column[g]] = 1.0
        counts = count_ratings(ratings["movieId"].to_numpy(dtype=np.int64), ids)
        return cls.build(ids, counts, matrix)

    def positions(self, ids: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, known)`` of movie ids in these facts."""
        return lookup(self.movie_ids, np.asarray(ids, dtype=np.int64))


def profile_genres(profile: Mapping[int, float], facts: MovieFacts) -> np.ndarray:
    """The person's genres ``(n_genres,)`` summing to 1 (all 0 when nothing is liked): each
    rated movie above :data:`LIKED_FROM` stars spreads ``stars − 2.5`` over its genres."""
    pos, known = facts.positions(list(profile))
    stars = np.array(list(profile.values()), dtype=np.float64)[known]
    weights = np.clip(stars - LIKED_FROM, 0.0, None)
    mass = weights @ facts.genre_share[pos[known]] if known.any() else np.zeros(0)
    total = mass.sum() if len(mass) else 0.0
    return mass / total if total > 0 else np.zeros(facts.genre_share.shape[1])


def distinctive_genres(profile: Mapping[int, float], facts: MovieFacts) -> np.ndarray:
    """``(n_genres,)`` summing to 1 (all 0 when nothing stands out): the person's genres
    (:func:`profile_genres`) weighted by how much more they like them than people on average,
    ``p_g · log(p_g / base_g)`` where positive — a western lover's Western counts, the Action
    and Drama every list has anyway do not."""
    genres = profile_genres(profile, facts)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(genres > 0, np.log(genres / np.maximum(facts.genre_base, 1e-9)), 0.0)
    weight = genres * np.clip(lift, 0.0, None)
    total = weight.sum()
    return weight / total if total > 0 else weight


def main_genres(profile: Mapping[int, float], facts: MovieFacts) -> np.ndarray:
    """Column indices of the person's main genres: at least :data:`MAIN_GENRE_SHARE` of their
    distinctive genres (:func:`distinctive_genres`), largest first, at most
    :data:`MAIN_GENRES`."""
    genres = distinctive_genres(profile, facts)
    order = np.argsort(-genres, kind="stable")[:MAIN_GENRES]
    return order[genres[order] >= MAIN_GENRE_SHARE]


def genre_candidates(
    profile: Mapping[int, float], facts: MovieFacts, exclude=(), per_genre: int = PER_GENRE
) -> np.ndarray:
    """Movie ids to rank besides a model's list: for each of the person's main genres
    (:func:`main_genres`), its ``per_genre`` most-rated movies not in the profile or
    ``exclude``. A model's list of a documentary lover may hold no documentary at all;
    these give re-ranking some to choose from."""
    banned = np.isin(facts.movie_ids, np.fromiter([*profile, *exclude], dtype=np.int64))
    chosen: list[np.ndarray] = []
    for column in main_genres(profile, facts):
        inside = np.flatnonzero((facts.genre_share[:, column] > 0) & ~banned)
        chosen.append(inside[np.argsort(-facts.popularity[inside], kind="stable")[:per_genre]])
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return facts.movie_ids[np.unique(np.concatenate(chosen))]


def widened(model, profile: Mapping[int, float], facts: MovieFacts, k: int, **options):
    """``model.recommend(profile, k, **options)`` followed by the model's own ranking of
    :func:`genre_candidates` (not already in it): one
    :class:`~recommender.base.Recommendations`, the model's list first, for :func:`rerank`.
    ``options``: ``user``, ``exclude``, ``explain_first`` as the model's ``recommend`` takes."""
    from recommender.base import Recommendations

    first = model.recommend(profile, k, **options)
    exclude = [*options.pop("exclude", ()), *first.movie_ids.tolist()]
    extra = genre_candidates(profile, facts, exclude)
    if not len(extra):
        return first
    options["explain_first"] = 0
    more = model.recommend(profile, len(extra), candidates=extra, exclude=exclude, **options)
    return Recommendations(
        movie_ids=np.concatenate([first.movie_ids, more.movie_ids]),
        scores=np.concatenate([first.scores, more.scores]),
        predicted=np.concatenate([first.predicted, more.predicted]),
        match=np.concatenate([first.match, more.match]),
        evidence=[*first.evidence, *more.evidence],
        context=first.context,
    )


def rerank(
    ranked_ids: Sequence[int] | np.ndarray,
    profile: Mapping[int, float],
    facts: MovieFacts,
    discover: float = DEFAULT_DISCOVER,
) -> np.ndarray:
    """``ranked_ids`` (a model's list, best first) re-ordered for ``profile`` at setting
    ``discover`` (0.0–1.0, see the module docstring); the same movies, int64. ``discover = 0``
    returns the model's order; movies unknown to ``facts`` count as unpopular and genre-less."""
    ids = np.asarray(ranked_ids, dtype=np.int64)
    discover = float(np.clip(discover, 0.0, 1.0))
    if discover == 0.0 or len(ids) < 2:
        return ids.copy()
    pos, known = facts.positions(ids)
    popularity = np.where(known, facts.popularity[pos], 0.0)
    share = np.where(known[:, None], facts.genre_share[pos], 0.0)
    rated, rated_known = facts.positions(list(profile))
    own = float(facts.popularity[rated[rated_known]].mean()) if rated_known.any() else 0.0
    base = 1.0 - np.log1p(np.arange(len(ids))) / np.log1p(len(ids))
    base -= discover * POPULARITY_WEIGHT * np.clip(popularity - OWN_POPULARITY * own, 0.0, 1.0)
    liked = profile_genres(profile, facts)
    if liked.any():
        base -= discover * OUTSIDE_WEIGHT * (share @ (liked == 0))
    distinct = distinctive_genres(profile, facts)
    focus = 1.0 + FOCUS_BOOST * float(distinct.max()) ** FOCUS_POWER if distinct.any() else 1.0
    if distinct.any():
        base -= discover * focus * MISS_WEIGHT * (1.0 - (share > 0) @ distinct)
    wanted = distinct * discover * GENRE_WEIGHT * focus
    slots = np.zeros(share.shape[1])
    order = np.empty(len(ids), dtype=np.int64)
    free = np.ones(len(ids), dtype=bool)
    for slot in range(len(ids)):
        value = base + share @ (wanted / (1.0 + slots))
        value[~free] = -np.inf
        best = int(np.argmax(value))
        order[slot] = best
        free[best] = False
        slots += share[best]
    return ids[order]


def pages_in_model_order(reordered, model_order, page_size: int) -> np.ndarray:
    """``reordered`` (from :func:`rerank`) with each page of ``page_size`` movies shown in the
    model's order (``model_order``: the list :func:`rerank` was given): re-ranking decides which
    movies make a page, the model's ranking — best match first — how the page reads."""
    reordered = np.asarray(reordered, dtype=np.int64)
    position = {int(m): i for i, m in enumerate(np.asarray(model_order).tolist())}
    keys = np.array([position.get(int(m), len(position)) for m in reordered])
    out = reordered.copy()
    for start in range(0, len(out), max(int(page_size), 1)):
        chunk = slice(start, start + page_size)
        out[chunk] = reordered[chunk][np.argsort(keys[chunk], kind="stable")]
    return out
