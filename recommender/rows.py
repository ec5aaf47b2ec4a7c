"""The home view's rows: which rows a person gets and which movies each shows.

A row is a strip of up to :data:`ROW_SIZE` recommendations with its reason in its title
(the sentences are :mod:`recommender.reasons`'):

- ``top_picks`` — "Top picks for you": the person's list, best match first;
- ``because_you_liked`` — "Because you liked <movie>" for up to :data:`SEEDS` of their
  highest-rated movies (4★ or more; equal stars: the better-known movie first): of the
  :data:`SIMILAR_POOL` movies most like it (rated ones left out), those no row above shows,
  in the order of the person's match;
- ``genre`` — "<Genre> for you" for their :data:`GENRE_ROWS` top genres
  (:func:`top_genres`): movies of that genre, best match first;
- ``something_different`` — "Something different": their best matches that have none of their
  usual genres (:func:`usual_genres`; no such row while no genre is usual).

Rows are filled in screen order (:func:`plan`: top picks, then "because you liked" and genre
rows taking turns, "something different" last) and no movie appears twice on one screen: a
movie shown by an earlier row is skipped by the later ones. A row with fewer than
:data:`MIN_ROW_SIZE` movies left is dropped. Nothing here knows where the matches come from:
the caller passes every candidate already scored for the person
(:class:`recommender.document.Recommendation`, rated movies left out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api import rules
from recommender import reasons
from recommender.document import Recommendation

ROW_SIZE = rules.ROW_SIZE
"""Movies in one row (12, the API's rule)."""

MIN_ROW_SIZE = 4
"""A row with fewer movies left (after the rows above it took theirs) is not shown."""

SEEDS = 3
"""Most "Because you liked" rows."""

GENRE_ROWS = 2
"""Most "<Genre> for you" rows."""

SIMILAR_POOL = 30
"""A "Because you liked" row picks from this many movies most like its movie."""

LOVED = 4.0
"""Stars from which a rated movie counts as loved (seeds, top genres)."""

USUAL_SHARE = 0.25
"""A genre is one of the person's usual genres when at least this share of the movies they
loved has it (or they chose it)."""

NO_GENRE = "(no genres listed)"

KINDS = ("top_picks", "because_you_liked", "genre", "something_different")


@dataclass
class Row:
    """One strip of the home view: ``kind`` (one of :data:`KINDS`), ``title`` and ``reason``
    (sentences), ``items`` best first, and what the row grew from: ``movie_id`` (the loved
    movie of a "because you liked" row) or ``genre`` (a genre row)."""

    kind: str
    title: str
    reason: str
    items: list[Recommendation] = field(default_factory=list)
    movie_id: int | None = None
    genre: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "title": self.title, "reason": self.reason}
        if self.movie_id is not None:
            data["movie_id"] = self.movie_id
        if self.genre is not None:
            data["genre"] = self.genre
        data["items"] = [item.to_json() for item in self.items]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        return cls(
            kind=data["kind"],
            title=data["title"],
            reason=data["reason"],
            items=[Recommendation.from_json(item) for item in data["items"]],
            movie_id=data.get("movie_id"),
            genre=data.get("genre"),
        )


def seeds(
    profile: Mapping[int, float], rating_count: Callable[[int], int], k: int = SEEDS
) -> list[int]:
    """The person's ``k`` highest-rated movies of at least :data:`LOVED` stars; equal stars:
    more ratings in the dataset first (a row title a person recognises), then lower id."""
    loved = [m for m, stars in profile.items() if stars >= LOVED]
    loved.sort(key=lambda m: (-profile[m], -rating_count(m), m))
    return loved[:k]


def _loved_genre_counts(
    profile: Mapping[int, float], genres_of: Callable[[int], Sequence[str]]
) -> tuple[Counter, int]:
    counts: Counter = Counter()
    loved = [m for m, stars in profile.items() if stars >= LOVED]
    for movie_id in loved:
        counts.update(g for g in genres_of(movie_id) if g != NO_GENRE)
    return counts, len(loved)


def top_genres(
    profile: Mapping[int, float],
    chosen: Sequence[str],
    genres_of: Callable[[int], Sequence[str]],
    k: int = GENRE_ROWS,
) -> list[tuple[str, int, bool]]:
    """The person's ``k`` top genres: ``[(genre, loved movies having it, chosen), ...]``.

    Ordered by how many of the movies they loved (:data:`LOVED`) have the genre, a genre they
    chose counting half a movie more (so with few ratings the chosen genres lead); equal: by
    name. Genres with neither are left out."""
    counts, _ = _loved_genre_counts(profile, genres_of)
    picked = set(chosen) - {NO_GENRE}
    names = set(counts) | picked
    ranked = sorted(names, key=lambda g: (-(counts[g] + 0.5 * (g in picked)), g))
    return [(g, counts[g], g in picked) for g in ranked[:k]]


def usual_genres(
    profile: Mapping[int, float],
    chosen: Sequence[str],
    genres_of: Callable[[int], Sequence[str]],
) -> list[str]:
    """The genres a person usually watches: those they chose and those of at least
    :data:`USUAL_SHARE` of the movies they loved; most loved first."""
    counts, loved = _loved_genre_counts(profile, genres_of)
    common = {g for g, n in counts.items() if loved and n / loved >= USUAL_SHARE}
    usual = common | (set(chosen) - {NO_GENRE})
    return sorted(usual, key=lambda g: (-counts[g], g))


def best_first(items: list[Recommendation]) -> list[Recommendation]:
    """Highest match first, then highest predicted stars; otherwise the given order."""
    return sorted(items, key=lambda item: (-item.match, -item.predicted_rating))


@dataclass
class Taste:
    """What the rows are planned from: ``profile`` ({movieId: stars}), ``chosen`` genres,
    ``genres_of(id)`` and ``title_of(id)`` of the catalogue, ``rating_count(id)``."""

    profile: Mapping[int, float]
    chosen: Sequence[str]
    genres_of: Callable[[int], Sequence[str]]
    title_of: Callable[[int], str]
    rating_count: Callable[[int], int]


def plan(
    taste: Taste,
    top: list[Recommendation],
    scored: Mapping[int, Recommendation],
    similar: Mapping[int, list[int]],
) -> list[Row]:
    """The rows of one screen, filled in order without repeating a movie (module docstring).

    ``top``: the person's list, best first; ``scored``: every candidate scored for the person
    (``top``'s movies included); ``similar``: for each seed (:func:`seeds`), the movies most
    like it, closest first. Movies the person rated never appear (they are not scored)."""
    shown: set[int] = set()
    rows: list[Row] = []

    def fill(row: Row, candidates: list[Recommendation]) -> None:
        fresh = [item for item in candidates if item.movie_id not in shown]
        row.items = fresh[:ROW_SIZE]
        if len(row.items) >= MIN_ROW_SIZE:
            shown.update(item.movie_id for item in row.items)
            rows.append(row)

    fill(Row("top_picks", reasons.row_title("top_picks"), reasons.row_reason("top_picks")), top)

    def liked_row(seed: int) -> None:
        title = taste.title_of(seed)
        closest = [scored[m] for m in similar.get(seed, []) if m in scored][:SIMILAR_POOL]
        row = Row(
            "because_you_liked",
            reasons.row_title("because_you_liked", title),
            reasons.row_reason("because_you_liked", title, rating=taste.profile[seed]),
            movie_id=seed,
        )
        fill(row, best_first(closest))

    def genre_row(genre: str, loved: int, chosen: bool) -> None:
        row = Row(
            "genre",
            reasons.row_title("genre", genre),
            reasons.row_reason("genre", genre, loved=loved, chosen=chosen),
            genre=genre,
        )
        fill(row, best_first([i for i in scored.values() if genre in taste.genres_of(i.movie_id)]))

    liked = seeds(taste.profile, taste.rating_count)
    genres = top_genres(taste.profile, taste.chosen, taste.genres_of)
    for turn in range(max(len(liked), len(genres))):
        if turn < len(liked):
            liked_row(liked[turn])
        if turn < len(genres):
            genre_row(*genres[turn])

    usual = usual_genres(taste.profile, taste.chosen, taste.genres_of)
    if not usual:  # nothing is usual yet, so nothing is different either
        return rows
    outside = [
        item
        for item in scored.values()
        if taste.genres_of(item.movie_id) and not set(usual) & set(taste.genres_of(item.movie_id))
    ]
    different = Row(
        "something_different",
        reasons.row_title("something_different"),
        reasons.row_reason("something_different", ", ".join(usual[:3])),
    )
    fill(different, best_first(outside))
    return rows
