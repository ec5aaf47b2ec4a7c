"""Export the app users' ratings for retraining, as a MovieLens-style CSV.

Usage: ``python -m scripts.export_ratings --out app_ratings.csv`` (Redis from ``REDIS_URL``)

Writes ``userId,movieId,rating,timestamp`` rows: ``userId`` is 1,000,000,000 + a stable
per-user number kept in Redis (``{export}:user_ids``), so an app user keeps the same id in
every export and never collides with a MovieLens userId; ``timestamp`` is the Unix second of
the rating. See :func:`worker.store.export_ratings`. The training CLI takes the file with
``--extra-ratings app_ratings.csv``.

``--lists-out app_lists.csv`` also writes every watchlist and not-interested movie as
``userId,movieId,list,timestamp`` (``list`` "watchlist" or "not_interested"; same user ids).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument(
        "--lists-out", type=Path, default=None, help="also write watchlists and not-interested"
    )
    parser.add_argument("--redis-url", default=None, help="default: the REDIS_URL variable")
    args = parser.parse_args(argv)
    url = args.redis_url or os.environ.get("REDIS_URL", "").strip()
    if not url:
        print("set REDIS_URL (or pass --redis-url) to the worker's Redis", file=sys.stderr)
        return 2

    from worker.store import export_movie_lists, export_ratings
    from worker.store.client import make_client

    client = make_client(url)
    table = export_ratings(client)
    _write(table, args.out)
    users = table["userId"].nunique()
    print(f"wrote {len(table)} ratings of {users} app users to {args.out}")
    if args.lists_out is not None:
        lists = export_movie_lists(client)
        _write(lists, args.lists_out)
        print(f"wrote {len(lists)} watchlist and not-interested movies to {args.lists_out}")
    return 0


def _write(table, path: Path) -> None:
    """``table`` as CSV at ``path``, replaced at once (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    table.to_csv(temporary, index=False)
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main())
