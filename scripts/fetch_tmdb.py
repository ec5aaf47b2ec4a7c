"""Fetch plot overviews, taglines and poster paths from TMDB for every movie of a release.

Usage: ``TMDB_API_KEY=... python -m scripts.fetch_tmdb [--links PATH] [--out PATH]``

For each tmdbId in the release's ``links.csv`` it asks TMDB's ``GET /3/movie/{tmdbId}`` once and
writes ``--out`` (default ``DATA_CACHE_DIR/overviews/tmdb_overviews.csv``) in the layout the
product reads (:func:`recommender.catalog.read_overviews`): columns ``tmdbId, imdbId, title,
release_date, overview, tagline, poster_path``, UTF-8, standard CSV quoting (quoted newlines
allowed), one row per movie TMDB knows.

- **Key**: a free TMDB account gives one (themoviedb.org → Settings → API; the README says
  how). ``TMDB_API_KEY`` holds either the v3 "API Key" (sent as ``api_key``) or the v4 "API
  Read Access Token" (a JWT, sent as ``Authorization: Bearer``). A rejected key stops the run.
- **Rate-limited**: at most ``--rate`` requests per second (default 20, well under TMDB's limit of
  about 50); a 429 answer waits its ``Retry-After`` and asks again.
- **Cached and resumable**: every answer is kept in ``<out folder>/tmdb-cache/<tmdbId>.json``
  (a movie TMDB does not know as ``{"status_code": 404}``) before the next request, so an
  interrupted run (Ctrl-C, a network failure) continues where it stopped and a finished one
  asks nothing again; the CSV is written at the end from the cache, atomically.
- **Progress bar** (tqdm) over the movies still to fetch.

Exit status: 0 every movie answered; 1 no key; 2 the key was refused; 4 some movies could not
be fetched this time (the CSV holds the others; run again to fetch the rest).
``--base-url`` (or ``TMDB_BASE_URL``) points at another server (tests use a local stand-in).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import requests
from tqdm import tqdm

from recommender import settings
from recommender.settings import OVERVIEWS_FILE

BASE_URL = "https://api.themoviedb.org"
COLUMNS = ["tmdbId", "imdbId", "title", "release_date", "overview", "tagline", "poster_path"]
TIMEOUT_SECONDS = (10, 30)
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0
EXIT_OK, EXIT_NO_KEY, EXIT_KEY_REFUSED, EXIT_INCOMPLETE = 0, 1, 2, 4


class KeyRefused(RuntimeError):
    """TMDB answered 401: the API key or token is not valid."""


class RateLimiter:
    """Spaces calls at least ``1 / per_second`` seconds apart (``wait`` sleeps as needed)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def read_tmdb_ids(links: Path) -> list[int]:
    """The distinct tmdbIds of a MovieLens ``links.csv`` (rows without one are skipped)."""
    ids: set[int] = set()
    with links.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            value = (row.get("tmdbId") or "").strip()
            if value:
                ids.add(int(float(value)))
    return sorted(ids)


class TmdbClient:
    """``GET {base}/3/movie/{id}`` with the key, rate limit and retries (see the module)."""

    def __init__(self, api_key: str, base_url: str, limiter: RateLimiter):
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.session = requests.Session()
        if api_key.startswith("eyJ"):  # a v4 read access token (JWT)
            self.session.headers["Authorization"] = f"Bearer {api_key}"
            self.params = {}
        else:
            self.params = {"api_key": api_key}

    def movie(self, tmdb_id: int) -> dict | None:
        """TMDB's JSON for the movie (``{"status_code": 404}`` when TMDB does not know it),
        or ``None`` when it could not be fetched now. Raises :class:`KeyRefused` on 401."""
        url = f"{self.base_url}/3/movie/{tmdb_id}"
        for attempt in range(MAX_ATTEMPTS):
            self.limiter.wait()
            try:
                response = self.session.get(url, params=self.params, timeout=TIMEOUT_SECONDS)
            except requests.RequestException:
                time.sleep(min(2.0**attempt, 8.0))
                continue
            if response.status_code == 200:
                return response.json()
            if response.status_code == 404:
                return {"status_code": 404}
            if response.status_code == 401:
                raise KeyRefused(_message(response))
            if response.status_code == 429:
                time.sleep(_retry_after(response))
                continue
            time.sleep(min(2.0**attempt, 8.0))  # 5xx and the like: try again shortly
        return None


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("status_message") or response.reason)
    except ValueError:
        return response.reason or str(response.status_code)


def _retry_after(response: requests.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 1.0


def row_of(tmdb_id: int, answer: dict) -> dict[str, str] | None:
    """The CSV row of one TMDB answer (``None`` for a movie TMDB does not know)."""
    if answer.get("status_code") == 404 or "id" not in answer:
        return None

    def text(key: str) -> str:
        value = answer.get(key)
        return "" if value is None else str(value)

    return {
        "tmdbId": str(tmdb_id),
        "imdbId": text("imdb_id"),
        "title": text("title"),
        "release_date": text("release_date"),
        "overview": text("overview"),
        "tagline": text("tagline"),
        "poster_path": text("poster_path"),
    }


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """Write ``rows`` to ``path`` atomically (temporary file in the same folder + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".tmdb-", suffix=".csv", dir=path.parent)
    with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(name, path)


def fetch(
    tmdb_ids: list[int], out: Path, client: TmdbClient, *, progress: bool = True
) -> tuple[int, int]:
    """Fetch what the cache lacks, then write ``out``. Returns ``(rows written, missing)``,
    missing = movies not fetched this time. Raises :class:`KeyRefused`."""
    cache = out.parent / "tmdb-cache"
    cache.mkdir(parents=True, exist_ok=True)
    todo = [m for m in tmdb_ids if not (cache / f"{m}.json").exists()]
    missing = 0
    with tqdm(total=len(todo), desc="TMDB overviews", unit="movie", disable=not progress) as bar:
        for tmdb_id in todo:
            answer = client.movie(tmdb_id)
            if answer is None:
                missing += 1
            else:
                part = cache / f".{tmdb_id}.json.part"
                part.write_text(json.dumps(answer), encoding="utf-8")
                os.replace(part, cache / f"{tmdb_id}.json")
            bar.update(1)
    rows = []
    for tmdb_id in tmdb_ids:
        file = cache / f"{tmdb_id}.json"
        if file.exists():
            row = row_of(tmdb_id, json.loads(file.read_text(encoding="utf-8")))
            if row is not None:
                rows.append(row)
    write_csv(out, rows)
    return len(rows), missing


def default_out() -> Path:
    return settings.data_cache_dir() / "overviews" / OVERVIEWS_FILE


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=Path, default=None, help="default: the release's")
    parser.add_argument("--out", type=Path, default=None, help=f"default: {default_out()}")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument(
        "--base-url", default=os.environ.get("TMDB_BASE_URL", "").strip() or BASE_URL
    )
    args = parser.parse_args(argv)
    api_key = os.environ.get("TMDB_API_KEY", "").strip()
    if not api_key:
        print(
            "TMDB_API_KEY is not set: movies keep a placeholder poster and no overview. "
            "A free key: create an account at themoviedb.org, then Settings → API.",
            file=sys.stderr,
        )
        return EXIT_NO_KEY
    links = args.links or settings.movielens_dir() / "links.csv"
    out = (args.out or default_out()).expanduser()
    ids = read_tmdb_ids(links)
    client = TmdbClient(api_key, args.base_url, RateLimiter(args.rate))
    try:
        rows, missing = fetch(ids, out, client)
    except KeyRefused as exc:
        print(f"TMDB refused the key in TMDB_API_KEY: {exc}", file=sys.stderr)
        return EXIT_KEY_REFUSED
    print(f"{rows} of {len(ids)} movies with TMDB data in {out}")
    if settings.overviews_path() != out.resolve() and settings.overviews_path() != out:
        print(f"To use it, set OVERVIEWS_PATH={out}.")
    if missing:
        print(f"{missing} movies could not be fetched now; run again to fetch them.")
        return EXIT_INCOMPLETE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
