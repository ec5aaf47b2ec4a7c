"""Write a MovieLens-25M-shaped synthetic release (ratings.csv, movies.csv, links.csv).

Usage::

    python -m scripts.make_synthetic --users 162000 --movies 62000 --ratings 25000000 \\
        --out DIR --seed 0

The folder loads with ``recommender.movielens.load_movielens`` like a real CSV release. The
data itself is described in :mod:`recommender.synthetic` (Zipf-like popularity, skewed user
activity, half-star ratings with latent tastes). CSVs are written by pyarrow; 25M ratings make
a ~600 MB ratings.csv.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from tqdm import tqdm

from recommender.dataset import MovieLens
from recommender.movielens import NO_GENRES
from recommender.synthetic import make_synthetic


def _write_table(table: pa.Table, path: Path) -> None:
    """CSV with a plain (unquoted) MovieLens-style header line, written by pyarrow."""
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))


def _movies_csv_table(movies: pd.DataFrame) -> pa.Table:
    """movieId, "Title (year)", "A|B" (or "(no genres listed)") as MovieLens writes them."""
    titles = [
        title if pd.isna(year) else f"{title} ({year})"
        for title, year in zip(movies["title"], movies["year"], strict=True)
    ]
    genres = ["|".join(g) if len(g) else NO_GENRES for g in movies["genres"]]
    return pa.table({"movieId": movies["movieId"].to_numpy(), "title": titles, "genres": genres})


def _links_csv_table(links: pd.DataFrame) -> pa.Table:
    """movieId, imdbId, tmdbId (empty when unknown) as integers."""
    imdb = pa.array(links["imdbId"].astype("Int64"), type=pa.int64(), from_pandas=True)
    tmdb = pa.array(links["tmdbId"].astype("Int64"), type=pa.int64(), from_pandas=True)
    return pa.table({"movieId": links["movieId"].to_numpy(), "imdbId": imdb, "tmdbId": tmdb})


def write_movielens_csv(ml: MovieLens, out: Path) -> Path:
    """Write ``ml`` as a MovieLens CSV release into folder ``out`` (created); returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _write_table(pa.Table.from_pandas(ml.ratings, preserve_index=False), out / "ratings.csv")
    _write_table(_movies_csv_table(ml.movies), out / "movies.csv")
    if ml.links is not None:
        _write_table(_links_csv_table(ml.links), out / "links.csv")
    return out


def generate(n_users: int, n_movies: int, n_ratings: int, seed: int, out: Path) -> Path:
    """Generate the data with a progress bar and write it to ``out``; returns ``out``."""
    with tqdm(total=n_ratings, unit="rating", unit_scale=True, desc="synthetic") as bar:

        def progress(stage: str, done: int) -> None:  # each stage counts 0 .. n_ratings
            bar.set_description(f"synthetic: {stage}")
            bar.n = done
            bar.refresh()

        ml = make_synthetic(n_users, n_movies, n_ratings, seed=seed, progress=progress)
        bar.set_description("synthetic: writing CSV")
        return write_movielens_csv(ml, out)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints where the files went and how long it took."""
    parser = argparse.ArgumentParser(description="Write a MovieLens-shaped synthetic release.")
    parser.add_argument("--users", type=int, default=162_000)
    parser.add_argument("--movies", type=int, default=62_000)
    parser.add_argument("--ratings", type=int, default=25_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = generate(args.users, args.movies, args.ratings, args.seed, args.out)
    size_mb = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(
        f"wrote {args.ratings:,} ratings to {out} ({size_mb:.0f} MB) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
