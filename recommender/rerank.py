"""Less of the same: re-ranking a model's list between *familiar* and *discover*.

Any model's list (its top movies, best first; :func:`widened` adds, from the same scoring pass,
the model's own ranking of the most-rated movies of the person's main genres, which a
documentary lover's list may lack) is re-ordered for one person by a greedy pass that, at each
slot, takes the movie with the highest

    relevance(position) − discover · (popularity penalties + genre penalties − genre gain)

- **relevance** of position ``i`` (0 = the model's first) in the model's list of ``N``:
  ``1 − log(1 + i) / log(1 + N)``. Positions, not scores, so the stage works for every model
  (Pearson, the blend, …) whatever the scale of its scores (the blend's scores, a probability,
  did no better on the new-user protocol: README, "Less of the same").
- **popularity penalties**: membership of the *short head* (:data:`HEAD_SHARE`, after
  Abdollahpouri et al. 2019: the most-rated movies that hold a fifth of all ratings;
  :data:`HEAD_WEIGHT`), and popularity ``log(1 + ratings) / log(1 + ratings of the most-rated
  movie)`` (0–1) above :data:`OWN_POPULARITY` × the person's own (:func:`own_popularity`, the
  mean over the movies they liked): people who love blockbusters keep more of them, people
  who panned them (:func:`popularity_aversion`, :data:`AVERSION_BOOST`) get fewer.
- **the person's genres** ``p_g``: each movie rated above 2.5★ spreads ``stars − 2.5`` over its
  genres, *world cinema* (:func:`world_cinema`) counting as one more. **Distinctive genres**
  ``d_g ∝ p_g · log(p_g / base_g)`` (where positive; ``base``: each genre's share of all
  ratings) — what this person likes more than people on average.
- **genre penalties**: the share of a movie's genres outside every liked genre
  (:data:`OUTSIDE_WEIGHT`), and the distinctive weight the movie lacks (:data:`MISS_WEIGHT`).
- **genre gain** (calibrated genre coverage, after Steck 2018, "Calibrated
  recommendations", as diminishing returns): ``Σ_g d_g · share_g(movie) / (1 + slots the list
  already gave g)`` — a person with three genres gets all three, in proportion.
- genre terms are multiplied by the person's **focus** (:func:`focus`): about 1.3 for
  half of new users (1.75 or less for three in four), up to 17 for someone whose ratings are
  all of one niche genre.

Re-ranking decides which movies fill each block of :data:`BLOCK_SIZE` places; within a block
they are shown in the model's order (:func:`blocks_in_model_order`), so a block still reads
best match first.

``discover`` is the person's setting, 0.0–1.0: 0 is the model's own order (familiar), 1 the
strongest re-ranking; :data:`DEFAULT_DISCOVER` is what a person gets when they have not moved
the control. Its effect on NDCG@24, the share of slots taken by the 100 most-rated movies and
personalisation: ``python -m scripts.evaluate_blend --discover 0 0.15 0.3 0.5 0.75 1`` (README,
"Less of the same"; plot ``docs/discover_tradeoff.png``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from recommender.vocabulary import lookup

DEFAULT_DISCOVER = 0.3
"""The served setting when a person has not chosen one (README, "Less of the same")."""

# The weights below are the relevance (0–1) given up or gained at ``discover = 1``; at the
# default setting they count 0.3 of that. Chosen on the new-user protocol (held-out users of
# seeds 0 and 1, confirmed on seed 2; README "Less of the same") so that the default meets
# issue 17's targets: head share ≤ 0.7, personalisation ≥ 0.7, NDCG@24 ≥ 0.337.

POPULARITY_WEIGHT = 0.4
"""Per unit of popularity (0–1) above the person's own (see :data:`OWN_POPULARITY`)."""

HEAD_WEIGHT = 0.4
"""For a movie of the short head (:data:`HEAD_SHARE`)."""

HEAD_SHARE = 0.2
"""The *short head*: the most-rated movies that together hold this share of all ratings
(Abdollahpouri et al. 2019, "Managing popularity bias in recommender systems with personalized
re-ranking"; 138 movies of ml-latest-small)."""

AVERSION_BOOST = 12.0
"""Popularity penalties are multiplied by ``1 + AVERSION_BOOST · aversion``
(:func:`popularity_aversion`): the art-house person (three of the short head's blockbusters
panned in five ratings, two loved films outside it) gets 8.2 times the penalties."""

BLOCK_SIZE = 12
"""Re-ranking chooses the movies of each block of this many places; a block is shown in the
model's order (:func:`blocks_in_model_order`). The first block is what a person sees first. On
the new-user protocol (seeds 0–2, the blend, default setting) whole pages of 24 in the model's
order put the surviving blockbusters on top — the first 12 held 0.90 of the 100 most-rated
movies, as many as at Familiar (0.91) — where blocks of 12 hold 0.76, for NDCG@24 about 0.001
lower; the greedy order itself (blocks of 1) costs about 0.006."""

OWN_POPULARITY = 0.8
"""Share of the person's own taste for popular movies (:func:`own_popularity`) that is not
penalised."""

OUTSIDE_WEIGHT = 0.1
"""For a movie whose genres are all outside every genre the person liked (in proportion to the
share of its genres that are), times the focus."""

MISS_WEIGHT = 0.1
"""For a movie that has none of the person's distinctive genres (:func:`distinctive_genres`;
in proportion to the distinctive weight it lacks), times the focus."""

GENRE_WEIGHT = 2.0
"""For a full unit of genre gain (a movie wholly of the person's one distinctive genre, while
the list has none yet), times the focus."""

FOCUS_BOOST, FOCUS_POWER = 16.0, 5.0
"""Focus (:func:`focus`) is at least ``1 + FOCUS_BOOST · (largest distinctive genre weight) **
FOCUS_POWER``: median 1.3 after five ratings (held-out users of ml-latest-small, seed 0; 1.75 or
less for three in four), up to 17 for someone whose ratings are all of one niche genre (the
documentary lover, the horror-classics lover), whose genre then fills their list."""

NICHE_RATIO, COVERAGE_POWER = 10.0, 6.0
"""Focus is also at least ``1 + FOCUS_BOOST · coverage ** COVERAGE_POWER``, where coverage is
the largest share of the person's loved movies carrying one genre that is at least
``NICHE_RATIO`` times commoner in their taste than in all ratings (:func:`niche_coverage`):
the film-noir, western or musical lover, whose loved films also carry Crime, Drama or Children
and so spread their distinctive weight thin, gets 17 too. On the new-user protocol (seeds
0–2, the blend, default setting) it changed NDCG@24 by less than 0.001 and brought the six
niche lovers of ``tests/integration/test_worker_discover.py`` from 0–12 films of their genre in
the top 12 (film noir 2, western 5) to 10–12."""

MAIN_GENRE_SHARE = 0.2
"""A genre with at least this share of the person's distinctive genres is a main genre."""
MAIN_GENRES = 3
"""At most this many main genres."""
PER_GENRE = 30
"""Movies of each main genre added to the model's list before re-ranking (:func:`widened`)."""

LIKED_FROM = 2.5
"""Stars above which a rated movie adds its genres to the person's genres."""


ORIGINAL_TITLE = re.compile(r"\((?!a\.k\.a\.)[^()]*[^\d\s()][^()]*\)\s*(?:\(\d{4}\))?\s*$")
"""A title ending in a parenthesised other title, not an "a.k.a.": MovieLens puts a foreign
film's original title there ("Amelie (Fabuleux destin d'Amélie Poulain, Le)", "Wings of Desire
(Himmel über Berlin, Der)")."""


def world_cinema(titles) -> np.ndarray:
    """``(n,)`` bool: the titles that carry an original non-English title
    (:data:`ORIGINAL_TITLE`, not merely a longer form of the title, as in "Raiders of the Lost
    Ark (Indiana Jones and the Raiders of the Lost Ark)") — MovieLens has no language or
    country, and this is the proxy for *world cinema* (about 1 in 10 movies of
    ml-latest-small; a few English alternative titles slip in, e.g. "Road Warrior, The (Mad
    Max 2)"). Re-ranking treats it as one more genre."""
    found = []
    for title in titles:
        match = ORIGINAL_TITLE.search(str(title))
        main = str(title)[: match.start()].strip().lower() if match else ""
        found.append(bool(match) and main not in match.group(0).lower())
    return np.array(found, dtype=bool)


@dataclass(frozen=True)
class MovieFacts:
    """What re-ranking knows about each catalogue movie (arrays aligned with ``movie_ids``).

    ``movie_ids``: sorted int64 ``(n,)``; ``popularity``: 0–1 (see the module docstring);
    ``genre_share``: ``(n, n_genres)`` float, each row the movie's genres summing to 1 (0 for
    a movie without genres); the last column is *world cinema* (:func:`world_cinema`) when
    titles were given; ``genre_base``: ``(n_genres,)`` each genre's share of all ratings
    (every rating spread over its movie's genres), what an average person's genres look like;
    ``head``: ``(n,)`` bool, the short head (:data:`HEAD_SHARE`).
    """

    movie_ids: np.ndarray
    popularity: np.ndarray
    genre_share: np.ndarray
    genre_base: np.ndarray
    head: np.ndarray

    @classmethod
    def build(cls, movie_ids, rating_counts, genre_matrix, titles=None) -> MovieFacts:
        """From the catalogue's ids ``(n,)``, rating counts ``(n,)``, 0/1 genre matrix
        ``(n, n_genres)`` and optionally titles ``(n,)`` (adding the world-cinema column); any
        order of ids: they are sorted here."""
        ids = np.asarray(movie_ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        raw = np.asarray(rating_counts, dtype=np.float64)[order]
        counts = np.log1p(raw)
        genres = np.asarray(genre_matrix, dtype=np.float64)
        if titles is not None:
            genres = np.column_stack([genres, world_cinema(titles)])
        genres = genres[order]
        per_movie = genres.sum(axis=1, keepdims=True)
        share = np.divide(genres, per_movie, out=np.zeros_like(genres), where=per_movie > 0)
        top = counts.max() if len(counts) and counts.max() > 0 else 1.0
        base = raw @ share
        base = base / base.sum() if base.sum() > 0 else np.full(share.shape[1], 1 / share.shape[1])
        head = np.zeros(len(raw), dtype=bool)
        if raw.sum() > 0:
            most = np.argsort(-raw, kind="stable")
            held = np.cumsum(raw[most]) / raw.sum()
            head[most[: int(np.searchsorted(held, HEAD_SHARE)) + 1]] = True
        return cls(ids[order], counts / top, share, base, head)

    @classmethod
    def from_catalog(cls, catalog) -> MovieFacts:
        """From a :class:`recommender.catalog.Catalog` (the worker's catalogue)."""
        return cls.build(catalog.ids, catalog.rating_counts, catalog.genre_matrix, catalog.titles)

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
        return cls.build(ids, counts, matrix, movies["title"].to_numpy(dtype=object))

    def positions(self, ids: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, known)`` of movie ids in these facts."""
        return lookup(self.movie_ids, np.asarray(ids, dtype=np.int64))

    @cached_property
    def most_rated(self) -> list[np.ndarray]:
        """For each genre column, the positions of its movies, most rated first (equal
        popularity: catalogue order); worked out once, on first use."""
        order = np.argsort(-self.popularity, kind="stable")
        return [order[self.genre_share[order, g] > 0] for g in range(self.genre_share.shape[1])]


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


def own_popularity(profile: Mapping[int, float], facts: MovieFacts) -> float:
    """The person's appetite for popular movies, 0–1: the mean popularity of the movies they
    liked (above :data:`LIKED_FROM` stars; of all they rated when they liked none) — panning
    Titanic says nothing of a taste for blockbusters."""
    liked = [m for m, stars in profile.items() if stars > LIKED_FROM]
    pos, known = facts.positions(liked or list(profile))
    return float(facts.popularity[pos[known]].mean()) if known.any() else 0.0


def popularity_aversion(profile: Mapping[int, float], facts: MovieFacts) -> float:
    """0–1: the share of the person's ratings that are short-head movies (:data:`HEAD_SHARE`)
    they did not like (at most :data:`LIKED_FROM` stars) — Titanic, Avatar and Transformers
    panned by the art-house person — times the share of the movies they liked that are outside
    the short head (1 when nothing is liked): someone who pans one blockbuster and loves two
    others is not averse to blockbusters."""
    panned = [m for m, stars in profile.items() if stars <= LIKED_FROM]
    if not panned:
        return 0.0
    pos, known = facts.positions(panned)
    aversion = float(facts.head[pos[known]].sum()) / len(profile)
    liked = [m for m, stars in profile.items() if stars > LIKED_FROM]
    if liked:
        pos, known = facts.positions(liked)
        aversion *= 1.0 - float(facts.head[pos[known]].sum()) / len(liked)
    return aversion


def niche_coverage(profile: Mapping[int, float], facts: MovieFacts) -> float:
    """0–1: the largest share of the person's liked weight (stars above :data:`LIKED_FROM`)
    on movies carrying one genre whose share of their genres (:func:`profile_genres`) is at
    least :data:`NICHE_RATIO` times its share of all ratings — 1.0 when every loved movie is a
    film noir."""
    pos, known = facts.positions(list(profile))
    stars = np.array(list(profile.values()), dtype=np.float64)[known]
    weights = np.clip(stars - LIKED_FROM, 0.0, None)
    if weights.sum() <= 0:
        return 0.0
    coverage = weights @ (facts.genre_share[pos[known]] > 0) / weights.sum()
    genres = profile_genres(profile, facts)
    niche = genres >= NICHE_RATIO * np.maximum(facts.genre_base, 1e-9)
    return float((coverage * niche).max())


def focus(profile: Mapping[int, float], facts: MovieFacts) -> float:
    """How strongly the genre terms count for this person (1 or more; :data:`FOCUS_BOOST`,
    :data:`NICHE_RATIO`): the larger of the rule on distinctive weight and the rule on niche
    coverage."""
    distinct = distinctive_genres(profile, facts)
    spread = float(distinct.max()) ** FOCUS_POWER if distinct.any() else 0.0
    covered = niche_coverage(profile, facts) ** COVERAGE_POWER
    return 1.0 + FOCUS_BOOST * max(spread, covered)


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
    banned, known = facts.positions(np.fromiter([*profile, *exclude], dtype=np.int64))
    banned = banned[known]
    chosen: list[np.ndarray] = []
    for column in main_genres(profile, facts):
        first = facts.most_rated[column][: per_genre + len(banned)]
        chosen.append(first[~np.isin(first, banned)][:per_genre])
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return facts.movie_ids[np.unique(np.concatenate(chosen))]


def widened(model, profile: Mapping[int, float], facts: MovieFacts, k: int, **options):
    """``model.recommend(profile, k, **options)`` followed by the model's own ranking of
    :func:`genre_candidates` not already in it, from the same scoring pass (the model's
    ``recommend(..., also=...)``): one :class:`~recommender.base.Recommendations`, the model's
    list first, for :func:`rerank`. ``options``: ``user``, ``exclude``, ``explain_first`` as
    the model's ``recommend`` takes."""
    extra = genre_candidates(profile, facts, options.get("exclude", ()))
    return model.recommend(profile, k, also=extra, **options)


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
    own = own_popularity(profile, facts)
    averse = discover * (1.0 + AVERSION_BOOST * popularity_aversion(profile, facts))
    base = 1.0 - np.log1p(np.arange(len(ids))) / np.log1p(len(ids))
    base -= averse * POPULARITY_WEIGHT * np.clip(popularity - OWN_POPULARITY * own, 0.0, 1.0)
    base -= averse * HEAD_WEIGHT * np.where(known, facts.head[pos], False)
    distinct = distinctive_genres(profile, facts)
    strength = focus(profile, facts)
    liked = profile_genres(profile, facts)
    if liked.any():
        base -= discover * strength * OUTSIDE_WEIGHT * (share @ (liked == 0))
    if distinct.any():
        base -= discover * strength * MISS_WEIGHT * (1.0 - (share > 0) @ distinct)
    wanted = distinct * discover * GENRE_WEIGHT * strength
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


def blocks_in_model_order(reordered, model_order, block: int = BLOCK_SIZE) -> np.ndarray:
    """``reordered`` (from :func:`rerank`) with each block of ``block`` movies shown in the
    model's order (``model_order``: the list :func:`rerank` was given): re-ranking decides which
    movies make a block, the model's ranking — best match first — how the block reads."""
    reordered = np.asarray(reordered, dtype=np.int64)
    position = {int(m): i for i, m in enumerate(np.asarray(model_order).tolist())}
    keys = np.array([position.get(int(m), len(position)) for m in reordered])
    out = reordered.copy()
    for start in range(0, len(out), max(int(block), 1)):
        chunk = slice(start, start + block)
        out[chunk] = reordered[chunk][np.argsort(keys[chunk], kind="stable")]
    return out
