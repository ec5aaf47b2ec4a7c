"""The catalogue: overview join, movie records, browse filters, pagination and title search."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.catalog import POSTER_SIZE, TMDB_IMAGE_BASE, Catalog, fold_text, natural_title
from recommender.dataset import MovieLens
from recommender.movielens import DatasetError, load_movielens

MOVIES = [
    # movieId, title, year, genres, imdbId, tmdbId, number of ratings
    (1, "Toy Story", 1995, ["Animation", "Comedy"], 114709, 862, 5),
    (2, "Matrix, The", 1999, ["Action", "Sci-Fi"], 133093, 603, 5),
    (
        3,
        "Amélie (Fabuleux destin d'Amélie Poulain, Le)",
        2001,
        ["Comedy", "Romance"],
        211915,
        None,
        3,
    ),
    (4, "Heat", 1995, ["Action", "Crime"], 113277, 949, 1),
    (5, "Untitled Documentary", None, [], 999999, 123456, 0),
    (6, "Avventura, L'", 1960, ["Drama"], 53619, 21135, 3),
]

OVERVIEW_ROWS = [
    ["tmdbId", "imdbId", "title", "release_date", "overview", "tagline", "poster_path"],
    ["862", "tt0114709", "Toy Story", "1995-10-30", "Toys come\nto life.", "", "/toy.jpg"],
    ["603", "tt0133093", "The Matrix", "", "A hacker learns the truth.", "Welcome.", ""],
    ["194", "tt0211915", "Amélie", "", "A shy waitress in Paris.", "", "/amelie.jpg"],
    ["949", "tt0113277", "Heat", "", "   ", "A Los Angeles crime saga.", "/heat.jpg"],
]


@pytest.fixture()
def ml() -> MovieLens:
    ratings = [(u, m, 4.0, 0) for m, *_, n in MOVIES for u in range(n)]
    return MovieLens(
        name="tiny",
        ratings=pd.DataFrame(ratings, columns=["userId", "movieId", "rating", "timestamp"]),
        movies=pd.DataFrame(
            {
                "movieId": np.array([m[0] for m in MOVIES], dtype=np.int32),
                "title": [m[1] for m in MOVIES],
                "year": pd.array([m[2] for m in MOVIES], dtype="Int16"),
                "genres": [m[3] for m in MOVIES],
            }
        ),
        links=pd.DataFrame(
            {
                "movieId": np.array([m[0] for m in MOVIES], dtype=np.int32),
                "imdbId": pd.array([m[4] for m in MOVIES], dtype="Int64"),
                "tmdbId": pd.array([m[5] for m in MOVIES], dtype="Int64"),
            }
        ),
    )


@pytest.fixture()
def overviews(tmp_path) -> Path:
    path = tmp_path / "tmdb_overviews.csv"
    with path.open("w", newline="", encoding="utf8") as handle:
        csv.writer(handle).writerows(OVERVIEW_ROWS)
    return path


@pytest.fixture()
def catalog(ml, overviews) -> Catalog:
    return Catalog.from_movielens(ml, overviews)


def test_movie_record_joins_overview_through_tmdb_id(catalog):
    assert catalog.movie(1) == {
        "id": 1,
        "title": "Toy Story",
        "year": 1995,
        "genres": ["Animation", "Comedy"],
        "poster_url": f"{TMDB_IMAGE_BASE}{POSTER_SIZE}/toy.jpg",
        "overview": "Toys come\nto life.",
        "tagline": None,
    }
    assert catalog.movie(2)["poster_url"] is None and catalog.movie(2)["tagline"] == "Welcome."


def test_imdb_id_is_the_fallback_when_tmdb_id_is_missing(catalog):
    assert catalog.movie(3)["overview"] == "A shy waitress in Paris."


def test_movies_without_overview_still_work(catalog):
    heat = catalog.movie(4)
    assert heat["overview"] is None and heat["tagline"] == "A Los Angeles crime saga."
    doc = catalog.movie(5)
    assert doc["overview"] is None and doc["poster_url"] is None and doc["year"] is None
    assert doc["genres"] == []


def test_without_overviews_file_or_links(ml, overviews, monkeypatch, tmp_path):
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.setenv("DATA_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("OVERVIEWS_PATH", raising=False)
    plain = Catalog.from_movielens(ml)
    assert plain.movie(1)["overview"] is None and plain.movie(1)["title"] == "Toy Story"
    ml.links = None
    assert Catalog.from_movielens(ml, overviews).movie(2)["overview"] is None


def test_missing_overviews_file_is_a_clear_error(ml, tmp_path):
    with pytest.raises(DatasetError, match="overviews"):
        Catalog.from_movielens(ml, tmp_path / "missing.csv")


def test_lookups(catalog):
    assert len(catalog) == 6
    assert 2 in catalog and 7 not in catalog and "x" not in catalog
    assert catalog.movie(7) is None
    assert [m["id"] for m in catalog.movies([4, 99, 1])] == [4, 1]
    assert catalog.genres == [
        "Action",
        "Animation",
        "Comedy",
        "Crime",
        "Drama",
        "Romance",
        "Sci-Fi",
    ]
    assert catalog.rating_counts.tolist() == [5, 5, 3, 1, 0, 3]
    assert catalog.rating_count(6) == 3 and catalog.rating_count(99) == 0


def test_movie_returns_a_fresh_dict(catalog):
    catalog.movie(1)["genres"].append("Horror")
    assert catalog.movie(1)["genres"] == ["Animation", "Comedy"]


def test_ids_with_genres_means_any_of_them(catalog):
    assert catalog.ids_with_genres(["Crime", "Sci-Fi"]).tolist() == [2, 4]
    assert catalog.ids_with_genres(["Nope"]).tolist() == []
    assert catalog.ids_with_genres(None).tolist() == [1, 2, 3, 4, 5, 6]


def test_browse_orders_most_rated_first_then_title(catalog):
    ids, total = catalog.browse(None, None, page=1, page_size=10)
    # Ties (5 ratings each) sort by title with its article in front: "The Matrix" < "Toy Story".
    assert ids.tolist() == [2, 1, 3, 6, 4, 5] and total == 6


def test_browse_paginates(catalog):
    pages = [catalog.browse(None, None, page=p, page_size=4) for p in (1, 2, 3)]
    assert [p[0].tolist() for p in pages] == [[2, 1, 3, 6], [4, 5], []]
    assert {p[1] for p in pages} == {6}
    with pytest.raises(ValueError):
        catalog.browse(None, None, page=0, page_size=4)


def test_browse_combines_genres_and_search(catalog):
    assert catalog.browse(["Comedy"], None)[0].tolist() == [1, 3]
    ids, total = catalog.browse(["Comedy", "Action"], "a", page=1, page_size=2)
    assert ids.tolist() == [2, 3] and total == 3  # Matrix, Amélie, Heat; Toy Story has no "a"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("the matrix", [2]),
        ("Matrix, The", [2]),
        ("MATRIX", [2]),
        ("amelie", [3]),
        ("AMÉLIE", [3]),
        ("l'avventura", [6]),
        ("  toy   story ", [1]),
        ("zzz", []),
    ],
)
def test_title_search(catalog, query, expected):
    assert catalog.browse(None, query, page_size=24)[0].tolist() == expected


def test_search_results_are_not_shared_between_calls(catalog):
    mask = catalog.title_mask("matrix")
    mask[:] = True
    assert catalog.title_mask("matrix").sum() == 1


def test_title_helpers():
    assert natural_title("City of Lost Children, The (Cité des enfants perdus, La)") == (
        "The City of Lost Children (Cité des enfants perdus, La)"
    )
    assert natural_title("Heat") == "Heat"
    assert fold_text("  Crêpe   ÉTÉ ") == "crepe ete"


def test_content_text(catalog):
    assert (
        catalog.text(2) == "The Matrix (1999). Genres: Action, Sci-Fi. A hacker learns the "
        "truth. Welcome."
    )
    assert catalog.text(5) == "Untitled Documentary."
    assert len(catalog.texts()) == len(catalog) and catalog.text(99) == ""


def test_real_catalog(data_dir):
    ml = load_movielens(data_dir / "ml-latest-small")
    catalog = Catalog.from_movielens(ml, data_dir / "overviews" / "tmdb_overviews.csv")
    assert len(catalog) == 9_742
    with_overview = sum(o is not None for o in catalog.overviews)
    assert 5_500 <= with_overview <= 5_700  # the data README counts 5,594 through tmdbId
    assert catalog.rating_counts.sum() == 100_836
    ids, total = catalog.browse(None, None, page=1, page_size=3)
    assert total == 9_742 and ids[0] == 356  # Forrest Gump, the most rated (329 ratings)
    assert catalog.movie(1)["poster_url"].startswith(TMDB_IMAGE_BASE)
    assert 2571 in catalog.browse(None, "the matrix")[0]


@pytest.mark.parametrize("query", ["movie 12", "synthetic movie 7", "the", "e", "zzz", "0, t"])
def test_search_agrees_with_plain_substring_test_on_a_bigger_catalog(query):
    """Rare queries take the joined-text scan, common ones the per-title test: same answer."""
    from recommender.synthetic import make_synthetic

    ml = make_synthetic(n_users=50, n_movies=800, n_ratings=2_000, seed=3)
    catalog = Catalog(ml.movies, np.zeros(len(ml.movies)))
    expected = [
        query in fold_text(t) or query in fold_text(natural_title(t)) for t in catalog.titles
    ]
    assert catalog.title_mask(query).tolist() == expected
