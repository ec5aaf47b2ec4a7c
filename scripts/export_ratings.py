"""Export the app users' ratings for retraining, as a MovieLens-style CSV.

Usage: ``python -m scripts.export_ratings --out app_ratings.csv`` (Redis from ``REDIS_URL``)

Writes ``userId,movieId,rating,timestamp`` rows: ``userId`` is 1,000,000,000 + a stable
per-user number kept in Redis (``{export}:user_ids``), so an app user keeps the same id in
every export and never collides with a MovieLens userId; ``timestamp`` is the Unix second of
the rating. See :func:`worker.store.export_ratings`. The training CLI takes the file with
``--extra-ratings app_ratings.csv``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--redis-url", default=None, help="default: the REDIS_URL variable")
    args = parser.parse_args(argv)
    url = args.redis_url or os.environ.get("REDIS_URL", "").strip()
    if not url:
        print("set REDIS_URL (or pass --redis-url) to the worker's Redis", file=sys.stderr)
        return 2

    from worker.store import export_ratings
    from worker.store.client import make_client

    table = export_ratings(make_client(url))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_name(args.out.name + ".tmp")
    table.to_csv(temporary, index=False)
    os.replace(temporary, args.out)  # a reader never sees half a file
    users = table["userId"].nunique()
    print(f"wrote {len(table)} ratings of {users} app users to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
