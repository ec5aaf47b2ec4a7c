"""scripts.fetch_tmdb (and the TMDB step of scripts.fetch_data) against a local HTTP server.

The server on 127.0.0.1 stands in for the public internet (api.themoviedb.org, which needs an
account and is not reachable here): a small real HTTP server speaking TMDB's
``GET /3/movie/{id}`` JSON shape — the movie on 200, ``{"status_code": 34, ...}`` on 404,
``{"status_code": 7, ...}`` on 401 for a wrong key, 429 with ``Retry-After`` when asked to
throttle. Everything else is real: HTTP, rate limiting, the disk cache, resuming, the CSV and
the catalogue reading it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest

from recommender.catalog import Catalog
from recommender.movielens import load_movielens
from scripts import fetch_data, fetch_tmdb

KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.stand-in.token"

MOVIES = {
    862: {
        "id": 862,
        "imdb_id": "tt0114709",
        "title": "Toy Story",
        "release_date": "1995-10-30",
        "overview": 'Led by Woody, Andy\'s toys live happily in his room.\nThen "Buzz" arrives.',
        "tagline": "The adventure takes off!",
        "poster_path": "/uXDfjJbdP4ijW5hWSBrPrlKpxab.jpg",
        "genres": [{"id": 16, "name": "Animation"}],
    },
    8844: {
        "id": 8844,
        "imdb_id": "tt0113497",
        "title": "Jumanji",
        "release_date": "1995-12-15",
        "overview": "When siblings Judy and Peter discover an enchanted board game...",
        "tagline": None,
        "poster_path": None,
    },
    15602: {
        "id": 15602,
        "imdb_id": "tt0113228",
        "title": "Grumpier Old Men",
        "release_date": "1995-12-22",
        "overview": "A family wedding reignites the ancient feud.",
        "tagline": "Still Yelling. Still Fighting. Still Ready for Love.",
        "poster_path": "/1FSXpj5e8l4KH6nVFO5SPUeraOt.jpg",
    },
}
LINKS = (
    "movieId,imdbId,tmdbId\n1,0114709,862\n2,0113497,8844\n3,0113228,15602\n"
    "4,0114885,99999\n5,0113041,\n"  # 99999: unknown to TMDB; movie 5 has no tmdbId
)
MOVIELENS = {
    "movies.csv": "movieId,title,genres\n1,Toy Story (1995),Animation\n2,Jumanji (1995),Adventure\n"
    "3,Grumpier Old Men (1995),Comedy\n4,Waiting to Exhale (1995),Comedy\n"
    "5,Father of the Bride Part II (1995),Comedy\n",
    "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.0,964982704\n",
    "links.csv": LINKS,
}


class StandIn:
    """The stand-in TMDB: records each request (path, time, auth), can refuse a movie with 503
    (``broken``) and answers the first request with 429 when ``throttle_once``."""

    def __init__(self):
        self.requests: list[tuple[int, float, str | None, str | None]] = []
        self.broken: set[int] = set()
        self.throttle_once = False


@pytest.fixture()
def tmdb():
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            key = parse_qs(url.query).get("api_key", [None])[0]
            bearer = self.headers.get("Authorization")
            parts = url.path.strip("/").split("/")
            movie_id = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else -1
            state.requests.append((movie_id, time.monotonic(), key, bearer))
            if key != KEY and bearer != f"Bearer {TOKEN}":
                message = "Invalid API key: You must be granted a valid key."
                return self.answer(401, {"status_code": 7, "status_message": message})
            if parts[:2] != ["3", "movie"] or movie_id < 0:
                return self.answer(404, {"status_code": 34, "status_message": "Not found."})
            if state.throttle_once:
                state.throttle_once = False
                return self.answer(429, {"status_code": 25}, [("Retry-After", "1")])
            if movie_id in state.broken:
                return self.answer(503, {"status_code": 11, "status_message": "Try again."})
            if movie_id not in MOVIES:
                message = "The resource you requested could not be found."
                return self.answer(404, {"status_code": 34, "status_message": message})
            return self.answer(200, MOVIES[movie_id])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture()
def release(tmp_path):
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    for name, text in MOVIELENS.items():
        (folder / name).write_text(text)
    return folder


def run(release: Path, out: Path, url: str, *extra: str) -> int:
    argv = ["--links", str(release / "links.csv"), "--out", str(out), "--base-url", url]
    return fetch_tmdb.main([*argv, *extra])


def test_fetches_every_movie_into_the_overviews_format_the_catalogue_reads(
    tmdb, release, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("TMDB_API_KEY", KEY)
    out = tmp_path / "data" / "overviews" / "tmdb_overviews.csv"
    assert run(release, out, tmdb.url) == fetch_tmdb.EXIT_OK
    assert sorted(m for m, *_ in tmdb.requests) == [862, 8844, 15602, 99999]  # no empty tmdbId
    assert all(key == KEY for _, _, key, _ in tmdb.requests)
    assert "TMDB overviews" in capsys.readouterr().err  # the progress bar

    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table.columns) == fetch_tmdb.COLUMNS and len(table) == 3  # 99999: unknown
    toy = table.set_index("tmdbId").loc["862"]
    assert toy["imdbId"] == "tt0114709" and "\n" in toy["overview"] and '"Buzz"' in toy["overview"]

    ml = load_movielens(release)
    catalog = Catalog.from_movielens(ml, out)
    first = catalog.movie(1)
    assert first["overview"] == MOVIES[862]["overview"]
    assert first["tagline"] == "The adventure takes off!"
    assert first["poster_url"].endswith("/uXDfjJbdP4ijW5hWSBrPrlKpxab.jpg")
    second = catalog.movie(2)
    assert second["poster_url"] is None and second["tagline"] is None  # placeholder poster
    assert catalog.movie(4)["overview"] is None  # TMDB does not know it

    # finished: a second run asks nothing again and writes the same file
    before = out.read_bytes()
    tmdb.requests.clear()
    assert run(release, out, tmdb.url) == fetch_tmdb.EXIT_OK
    assert tmdb.requests == [] and out.read_bytes() == before


def test_an_interrupted_run_resumes_where_it_stopped(tmdb, release, tmp_path, monkeypatch):
    monkeypatch.setenv("TMDB_API_KEY", KEY)
    monkeypatch.setattr(fetch_tmdb.time, "sleep", lambda seconds: None)  # no back-off waits
    out = tmp_path / "overviews.csv"
    tmdb.broken = {8844}  # the server fails on one movie this time
    assert run(release, out, tmdb.url) == fetch_tmdb.EXIT_INCOMPLETE
    asked = [m for m, *_ in tmdb.requests]
    assert asked.count(8844) == fetch_tmdb.MAX_ATTEMPTS and len(asked) == 3 + 4
    assert set(pd.read_csv(out)["tmdbId"]) == {862, 15602}  # what it has, written already

    tmdb.broken, tmdb.requests = set(), []
    assert run(release, out, tmdb.url) == fetch_tmdb.EXIT_OK
    assert [m for m, *_ in tmdb.requests] == [8844]  # only the movie still missing
    assert set(pd.read_csv(out)["tmdbId"]) == {862, 8844, 15602}


def test_requests_are_rate_limited_and_a_429_waits_its_retry_after(
    tmdb, release, tmp_path, monkeypatch
):
    monkeypatch.setenv("TMDB_API_KEY", TOKEN)  # a v4 token goes in the Authorization header
    tmdb.throttle_once = True
    started = time.monotonic()
    assert run(release, tmp_path / "o.csv", tmdb.url, "--rate", "5") == fetch_tmdb.EXIT_OK
    times = np.array([t for _, t, _, _ in tmdb.requests])
    assert len(times) == 5  # 4 movies + the throttled first attempt asked again
    assert all(key is None and bearer == f"Bearer {TOKEN}" for *_, key, bearer in tmdb.requests)
    gaps = np.diff(times)  # as the server saw them (loopback jitter of a few ms)
    assert gaps[0] >= 0.95  # Retry-After: 1 honoured
    # at most 5 requests per second: the 3 gaps after it add up to 0.6 s (each one may look
    # shorter or longer by the time a busy machine takes to hand a request to the server)
    assert times[-1] - times[1] >= 0.5
    assert time.monotonic() - started < 8


def test_a_refused_key_stops_and_no_key_explains_how_to_get_one(
    tmdb, release, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("TMDB_API_KEY", "wrong")
    out = tmp_path / "o.csv"
    assert run(release, out, tmdb.url) == fetch_tmdb.EXIT_KEY_REFUSED
    assert len(tmdb.requests) == 1 and not out.exists()
    assert "Invalid API key" in capsys.readouterr().err

    monkeypatch.delenv("TMDB_API_KEY")
    assert run(release, out, tmdb.url) == fetch_tmdb.EXIT_NO_KEY
    err = capsys.readouterr().err
    assert "TMDB_API_KEY" in err and "themoviedb.org" in err and "placeholder" in err


def test_fetch_data_fetches_overviews_with_a_key_and_hints_without(
    tmdb, release, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("MOVIELENS_PATH", str(release))
    monkeypatch.setenv("DATA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.delenv("OVERVIEWS_PATH", raising=False)
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    assert fetch_data.main(["--dest", str(tmp_path / "dest")]) == fetch_data.EXIT_OK
    assert "set TMDB_API_KEY" in capsys.readouterr().out

    monkeypatch.setenv("TMDB_API_KEY", KEY)
    monkeypatch.setenv("TMDB_BASE_URL", tmdb.url)
    assert fetch_data.main(["--dest", str(tmp_path / "dest")]) == fetch_data.EXIT_OK
    written = tmp_path / "cache" / "overviews" / "tmdb_overviews.csv"
    assert len(pd.read_csv(written)) == 3
    from recommender import settings

    assert settings.overviews_path() == written  # found where the product looks
