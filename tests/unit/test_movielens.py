"""Loading every dataset layout: small files written here, plus the real ml-latest-small."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.movielens import (
    DatasetError,
    detect_format,
    load_movielens,
    read_movies_csv,
    read_ratings_csv,
    split_genres,
    split_title_year,
)

RATING_DTYPES = {"userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"}


def write(path: Path, text: str, encoding: str = "utf8", newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def assert_normalised(ml) -> None:
    """The dtypes every loader promises (see recommender.dataset.MovieLens)."""
    assert {c: str(t) for c, t in ml.ratings.dtypes.items()} == RATING_DTYPES
    assert ml.movies["movieId"].dtype == np.int32
    assert str(ml.movies["year"].dtype) == "Int16"
    assert all(isinstance(g, list) for g in ml.movies["genres"])
    assert ml.movies["movieId"].is_monotonic_increasing


def movie_row(ml, movie_id: int) -> dict:
    return ml.movies.set_index("movieId").loc[movie_id].to_dict()


# ----------------------------------------------------------------------------- titles


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Toy Story (1995)", "Toy Story", 1995),
        ("American President, The (1995)", "American President, The", 1995),
        ("(500) Days of Summer (2009)", "(500) Days of Summer", 2009),
        ("Babylon 5", "Babylon 5", None),
        ("  Hyena Road (2015)  ", "Hyena Road", 2015),
        ("Ready Player One", "Ready Player One", None),
        ("Fawlty Towers (1975-1979)", "Fawlty Towers", 1975),
        ("Big Bang Theory, The (2007-)", "Big Bang Theory, The", 2007),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            "City of Lost Children, The (Cité des enfants perdus, La)",
            1995,
        ),
        ("2001: A Space Odyssey (1968)", "2001: A Space Odyssey", 1968),
        ("1984 (1956)", "1984", 1956),
        ("Movie (with a note)", "Movie (with a note)", None),
    ],
)
def test_split_title_year(raw, title, year):
    titles, years = split_title_year([raw])
    assert titles[0] == title
    assert (None if pd.isna(years[0]) else int(years[0])) == year


def test_split_genres_reads_no_genres_listed_as_empty():
    assert split_genres(["Action|Sci-Fi", "(no genres listed)", "", "Drama"]) == [
        ["Action", "Sci-Fi"],
        [],
        [],
        ["Drama"],
    ]


# ----------------------------------------------------------------------------- CSV releases

MOVIES_CSV = """movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
11,"American President, The (1995)",Comedy|Drama|Romance
40697,Babylon 5,Sci-Fi
69757,(500) Days of Summer (2009),Comedy|Drama|Romance
2,"Amélie, ""Le"" (2001) ",(no genres listed)
"""

RATINGS_CSV = """userId,movieId,rating,timestamp
1,1,4.0,964982703
1,11,2.5,964981247
2,1,0.5,1445714994
3,69757,5.0,1700000000
"""


@pytest.fixture()
def csv_release(tmp_path) -> Path:
    folder = tmp_path / "ml-latest-small"
    write(folder / "movies.csv", MOVIES_CSV, newline="\r\n")  # GroupLens CSVs use CRLF
    write(folder / "ratings.csv", RATINGS_CSV, newline="\r\n")
    write(folder / "links.csv", "movieId,imdbId,tmdbId\n1,0114709,862\n11,0112346,\n")
    write(folder / "tags.csv", 'userId,movieId,tag,timestamp\n2,1,"funny, really",1445714996\n')
    return folder


def test_csv_release_loads_every_table(csv_release):
    ml = load_movielens(csv_release)
    assert_normalised(ml)
    assert ml.name == "ml-latest-small"
    assert ml.ratings["rating"].tolist() == [4.0, 2.5, 0.5, 5.0]
    assert ml.ratings["timestamp"].tolist()[-1] == 1_700_000_000
    assert ml.movies["movieId"].tolist() == [1, 2, 11, 40697, 69757]
    assert movie_row(ml, 11) == {
        "title": "American President, The",
        "year": 1995,
        "genres": ["Comedy", "Drama", "Romance"],
    }
    assert movie_row(ml, 2)["title"] == 'Amélie, "Le"' and movie_row(ml, 2)["genres"] == []
    assert pd.isna(movie_row(ml, 40697)["year"])
    assert ml.links["tmdbId"].dtype == "Int64" and ml.links["imdbId"].tolist() == [114709, 112346]
    assert pd.isna(ml.links["tmdbId"][1])
    assert ml.tags["tag"].tolist() == ["funny, really"]
    assert ml.genres == [
        "Adventure",
        "Animation",
        "Children",
        "Comedy",
        "Drama",
        "Fantasy",
        "Romance",
        "Sci-Fi",
    ]


def test_csv_release_without_links_and_tags(csv_release):
    (csv_release / "links.csv").unlink()
    (csv_release / "tags.csv").unlink()
    ml = load_movielens(csv_release)
    assert ml.links is None and ml.tags is None


def test_single_file_readers(csv_release):
    ratings = read_ratings_csv(csv_release / "ratings.csv")
    assert {c: str(t) for c, t in ratings.dtypes.items()} == RATING_DTYPES
    assert len(ratings) == 4
    movies = read_movies_csv(csv_release / "movies.csv")
    assert movies.columns.tolist() == ["movieId", "title", "year", "genres"]


def test_bad_ratings_file_names_the_file(tmp_path):
    bad = write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,x,4.0,1\n")
    with pytest.raises(DatasetError, match="ratings.csv"):
        read_ratings_csv(bad)


# ----------------------------------------------------------------------------- ml-1m / ml-10m


def test_ml_1m_dat_latin1(tmp_path):
    folder = tmp_path / "ml-1m"
    write(folder / "ratings.dat", "1::1193::5::978300760\n2::3::3::978302109\n")
    write(
        folder / "movies.dat",
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "3::Crêpe: A Tale of Two Cities (1996)::Children's|Comedy\n",
        encoding="latin-1",
    )
    write(folder / "users.dat", "1::F::1::10::48067\n")
    ml = load_movielens(folder)
    assert_normalised(ml)
    assert ml.ratings.values.tolist() == [[1, 1193, 5, 978300760], [2, 3, 3, 978302109]]
    assert movie_row(ml, 3) == {
        "title": "Crêpe: A Tale of Two Cities",
        "year": 1996,
        "genres": ["Children's", "Comedy"],
    }
    assert ml.links is None and ml.tags is None


def test_ml_10m_dat_with_tags(tmp_path):
    folder = tmp_path / "ml-10M100K"
    write(folder / "ratings.dat", "1::122::5::838985046\n1::185::4.5::838983525\n")
    write(
        folder / "movies.dat",
        "122::Boomerang (1992)::Comedy|Romance\n185::Net, The (1995)::Action|Crime|Thriller\n",
    )
    write(
        folder / "tags.dat",
        "15::4973::excellent! 10/10::1215184630\n20::185::a::b::c::1188263867\n",
    )
    ml = load_movielens(folder)
    assert_normalised(ml)
    assert ml.ratings["rating"].tolist() == [5.0, 4.5]
    assert movie_row(ml, 185)["title"] == "Net, The"
    assert ml.tags["tag"].tolist() == ["excellent! 10/10", "a::b::c"]
    assert ml.tags["timestamp"].dtype == np.int64


def test_bad_dat_ratings_name_the_file(tmp_path):
    folder = tmp_path / "ml-1m"
    write(folder / "ratings.dat", "1::1193::five::978300760\n")
    write(folder / "movies.dat", "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n")
    with pytest.raises(DatasetError, match="ratings.dat"):
        load_movielens(folder)


# ----------------------------------------------------------------------------- ml-100k

GENRES_100K = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def flags(*names: str) -> str:
    return "|".join("1" if g in names else "0" for g in GENRES_100K)


def test_ml_100k(tmp_path):
    folder = tmp_path / "ml-100k"
    write(folder / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    write(folder / "u.genre", "".join(f"{g}|{i}\n" for i, g in enumerate(GENRES_100K)) + "\n")
    url = "http://us.imdb.com/M/title-exact?Kolya%20(1996)"
    write(
        folder / "u.item",
        f"242|Kolya (1996)|24-Jan-1997||{url}|{flags('Comedy')}\n"
        f"302|L.A. Confidential (1997)|01-Jan-1997||{url}|{flags('Crime', 'Film-Noir')}\n"
        f"267|unknown||||{flags('unknown')}\n"
        f"1300|Café au lait|01-Jan-1994||{url}|{flags('Comedy')}\n",
        encoding="latin-1",
    )
    ml = load_movielens(folder)
    assert_normalised(ml)
    assert ml.ratings["userId"].tolist() == [196, 186]
    assert movie_row(ml, 302) == {
        "title": "L.A. Confidential",
        "year": 1997,
        "genres": ["Crime", "Film-Noir"],
    }
    assert movie_row(ml, 267)["genres"] == [] and pd.isna(movie_row(ml, 267)["year"])
    assert movie_row(ml, 1300) == {"title": "Café au lait", "year": 1994, "genres": ["Comedy"]}


# ----------------------------------------------------------------------------- Netflix


def test_netflix_prize_layout(tmp_path):
    folder = tmp_path / "netflix"
    write(
        folder / "combined_data_1.txt",
        "1:\n1488844,3,2005-09-06\n822109,5,2005-05-13\n2:\n2059652,4,2005-09-05\n",
    )
    write(folder / "combined_data_2.txt", "3:\n1488844,1,1999-12-31\n")
    write(
        folder / "movie_titles.csv",
        "1,2003,Dinosaur Planet\n2,NULL,Isle of Man TT 2004 Review\n"
        "3,1997,Character, Part 2: Café\n",
        encoding="latin-1",
    )
    ml = load_movielens(folder)
    assert_normalised(ml)
    assert ml.ratings["movieId"].tolist() == [1, 1, 2, 3]
    assert ml.ratings["userId"].tolist() == [1488844, 822109, 2059652, 1488844]
    assert ml.ratings["rating"].tolist() == [3, 5, 4, 1]
    assert ml.ratings["timestamp"].tolist()[0] == 1125964800  # 2005-09-06 00:00 UTC
    assert movie_row(ml, 3) == {"title": "Character, Part 2: Café", "year": 1997, "genres": []}
    assert pd.isna(movie_row(ml, 2)["year"])


def test_netflix_block_boundaries_carry_the_movie_id(tmp_path, monkeypatch):
    """Headers forward-fill across pyarrow's streamed blocks (tiny blocks force many)."""
    from recommender.movielens import netflix

    monkeypatch.setattr(netflix, "BLOCK_SIZE", 64)
    lines, expected = [], []
    for movie in range(1, 40):
        lines.append(f"{movie}:")
        for user in range(movie % 4 + 1):
            lines.append(f"{1000 + user},{user % 5 + 1},2005-01-0{user % 9 + 1}")
            expected.append(movie)
    folder = tmp_path / "netflix"
    write(folder / "combined_data_1.txt", "\n".join(lines) + "\n")
    write(folder / "movie_titles.csv", "1,2000,A\n")
    ml = load_movielens(folder)
    assert ml.ratings["movieId"].tolist() == expected


def test_netflix_ratings_before_any_header_are_refused(tmp_path):
    folder = tmp_path / "netflix"
    write(folder / "combined_data_1.txt", "1488844,3,2005-09-06\n1:\n")
    write(folder / "movie_titles.csv", "1,2003,Dinosaur Planet\n")
    with pytest.raises(DatasetError, match="before the first"):
        load_movielens(folder)


# ----------------------------------------------------------------------------- errors


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist.*ratings.csv") as info:
        load_movielens(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unrecognised_folder_is_a_clear_error(tmp_path):
    write(tmp_path / "ratings.csv", RATINGS_CSV)  # no movies.csv
    assert detect_format(tmp_path) is None
    with pytest.raises(DatasetError, match="no known dataset layout"):
        load_movielens(tmp_path)


# ----------------------------------------------------------------------------- real data


def test_real_ml_latest_small(data_dir):
    ml = load_movielens(data_dir / "ml-latest-small")
    assert_normalised(ml)
    assert len(ml.ratings) == 100_836
    assert ml.ratings["userId"].nunique() == 610
    assert ml.ratings["movieId"].nunique() == 9_724
    assert len(ml.movies) == 9_742 and len(ml.links) == 9_742 and len(ml.tags) == 3_683
    assert ml.links["tmdbId"].isna().sum() == 8
    assert set(np.unique(ml.ratings["rating"])) == set(np.arange(1, 11) / 2)
    assert movie_row(ml, 1)["title"] == "Toy Story" and movie_row(ml, 1)["year"] == 1995
    assert len(ml.genres) == 19  # 20 MovieLens genres; "(no genres listed)" is not one


# ----------------------------------------------------------------------------- synthetic data


def test_synthetic_release_round_trips_through_csv(tmp_path):
    from recommender.synthetic import make_synthetic
    from scripts.make_synthetic import write_movielens_csv

    made = make_synthetic(n_users=300, n_movies=500, n_ratings=20_000, seed=1)
    ml = load_movielens(write_movielens_csv(made, tmp_path / "synthetic"))
    assert_normalised(ml)
    pd.testing.assert_frame_equal(ml.ratings, made.ratings)
    pd.testing.assert_frame_equal(ml.movies, made.movies)
    pd.testing.assert_frame_equal(ml.links, made.links)
    ratings = ml.ratings
    assert len(ratings) == 20_000 and not ratings.duplicated(["userId", "movieId"]).any()
    assert set(np.unique(ratings["rating"])) <= set(np.arange(1, 11) / 2)
    assert 3.2 < ratings["rating"].mean() < 3.8
    per_movie = ratings["movieId"].value_counts()
    assert per_movie.iloc[:25].sum() > 0.15 * len(ratings)  # 5% of movies, >15% of ratings
    assert ratings.groupby("userId").size().min() >= 20
    assert set(ratings["movieId"]) <= set(ml.movies["movieId"])


def test_synthetic_ratings_carry_user_taste():
    """Users' ratings of one half of movies predict their ratings of the other half."""
    from recommender.synthetic import make_synthetic

    ratings = make_synthetic(n_users=400, n_movies=300, n_ratings=40_000, seed=2).ratings
    centred = ratings["rating"] - ratings.groupby("movieId")["rating"].transform("mean")
    half = ratings["movieId"] % 2
    by_user = centred.groupby([ratings["userId"], half]).mean().unstack()
    assert by_user[0].corr(by_user[1]) > 0.3


def test_make_synthetic_command_writes_a_loadable_release(tmp_path):
    from scripts.make_synthetic import main

    out = tmp_path / "synthetic"
    args = ["--users", "60", "--movies", "120", "--ratings", "1500", "--seed", "4"]
    assert main([*args, "--out", str(out)]) == 0
    ml = load_movielens(out)
    assert len(ml.ratings) == 1500 and len(ml.movies) == 120 and len(ml.links) == 120
    assert ml.ratings["userId"].nunique() == 60
