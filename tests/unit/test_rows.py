"""Which rows a person gets and which movies each shows (:mod:`recommender.rows`), on a small
hand-made catalogue."""

from __future__ import annotations

from recommender.document import Recommendation
from recommender.rows import ROW_SIZE, Taste, plan, seeds, top_genres, usual_genres

GENRES = {
    **{m: ["Comedy"] for m in range(100, 140)},
    **{m: ["Horror"] for m in range(200, 230)},
    **{m: ["Western"] for m in range(300, 310)},
    1: ["Comedy"],
    2: ["Comedy", "Romance"],
    3: ["Horror"],
    4: ["Drama"],
}
PROFILE = {1: 5.0, 2: 4.5, 3: 4.0, 4: 1.0, 5: 5.0}  # 5: not in the catalogue's genres


def taste(chosen=("Comedy",)):
    return Taste(
        profile=PROFILE,
        chosen=list(chosen),
        genres_of=lambda m: GENRES.get(m, []),
        title_of=lambda m: f"Movie {m}",
        rating_count=lambda m: 1000 - m,
    )


def scored():
    """Every unrated movie, match falling with the id (Comedy best, then Horror, Western)."""
    ids = [m for m in GENRES if m not in PROFILE]
    return {m: Recommendation(m, 4.0, 100 - m / 10) for m in ids}


def test_seeds_are_the_loved_movies_highest_first_then_better_known():
    assert seeds(PROFILE, lambda m: 1000 - m) == [1, 5, 2]
    assert seeds({7: 3.5, 8: 2.0}, lambda m: 0) == []


def test_top_and_usual_genres_come_from_loved_movies_and_chosen_ones():
    genres_of = lambda m: GENRES.get(m, [])  # noqa: E731
    assert top_genres(PROFILE, ["Western"], genres_of, k=3) == [
        ("Comedy", 2, False),
        ("Horror", 1, False),
        ("Romance", 1, False),
    ]
    assert top_genres({}, ["Western"], genres_of) == [("Western", 0, True)]
    assert usual_genres(PROFILE, ["Western"], genres_of) == [
        "Comedy",
        "Horror",
        "Romance",
        "Western",
    ]


def test_rows_in_screen_order_without_repeats_or_short_rows():
    items = scored()
    top = sorted(items.values(), key=lambda i: -i.match)[:30]
    similar = {1: list(range(100, 140)), 2: [2, *range(100, 140)], 5: list(range(300, 305))}
    rows = plan(taste(), top, items, similar)
    kinds = [(row.kind, row.movie_id or row.genre) for row in rows]
    # Seeds 1, 5, 2 take turns with the genres Comedy, Horror; Movie 2's 30 closest movies
    # were all shown by the rows above it, so it has no row.
    assert kinds[0] == ("top_picks", None)
    assert ("because_you_liked", 1) in kinds and ("genre", "Comedy") in kinds
    assert ("because_you_liked", 2) not in kinds
    shown = [item.movie_id for row in rows for item in row.items]
    assert len(shown) == len(set(shown)) and not set(shown) & set(PROFILE)
    assert all(len(row.items) <= ROW_SIZE for row in rows)
    assert rows[0].items == top[:ROW_SIZE]
    for row in rows:
        matches = [item.match for item in row.items]
        assert matches == sorted(matches, reverse=True), row.title
    different = [row for row in rows if row.kind == "something_different"]
    assert different and all(
        not {"Comedy", "Horror", "Romance"} & set(GENRES[i.movie_id]) for i in different[0].items
    )
    assert rows[1].title == "Because you liked Movie 1"


def test_no_something_different_while_nothing_is_usual():
    items = scored()
    top = sorted(items.values(), key=lambda i: -i.match)[:30]
    dull = Taste(
        {1: 3.0, 2: 3.0, 3: 2.0, 4: 1.0, 5: 3.5}, [], lambda m: GENRES.get(m, []), str, lambda m: 0
    )
    rows = plan(dull, top, items, {})
    assert [row.kind for row in rows] == ["top_picks"]  # no loved movie, no genre picked
