"""scripts.fetch_data against a local HTTP server.

The server on 127.0.0.1 stands in for the public internet (files.grouplens.org): it serves a
small MovieLens-shaped zip and its ``.md5`` file built here. Everything else is real: HTTP
download, MD5 check, unpacking and loading the result.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from recommender.movielens import load_movielens
from scripts import fetch_data

FILES = {
    "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n2,1,3.5,964982704\n",
    "movies.csv": "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n",
    "links.csv": "movieId,imdbId,tmdbId\n1,0114709,862\n",
}


def build_zip(path: Path, top_folder: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in FILES.items():
            archive.writestr(f"{top_folder}/{name}", text)
    return path


@pytest.fixture()
def server(tmp_path):
    """Serve ``tmp_path/site`` over HTTP on 127.0.0.1 (stand-in for files.grouplens.org)."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def no_local_copy(monkeypatch, tmp_path):
    """No configured data, so fetch_data has to download."""
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.delenv("MOVIELENS_PATH", raising=False)
    monkeypatch.delenv("MOVIELENS_RELEASE", raising=False)
    monkeypatch.setenv("DATA_CACHE_DIR", str(tmp_path / "cache"))


def publish(site: Path, release: str, md5: str | None = None) -> Path:
    zip_path = build_zip(site / f"{release}.zip", release)
    digest = md5 or hashlib.md5(zip_path.read_bytes()).hexdigest()
    (site / f"{release}.zip.md5").write_text(f"MD5 ({release}.zip) = {digest}\n")
    return zip_path


def run(dest: Path, url: str, release: str = "ml-latest-small") -> int:
    return fetch_data.main(["--release", release, "--dest", str(dest), "--base-url", url])


def test_downloads_verifies_and_unpacks(server, no_local_copy, tmp_path, capsys):
    site, url = server
    publish(site, "ml-latest-small")
    dest = tmp_path / "dest"
    assert run(dest, url) == 0
    assert [p.name for p in dest.iterdir()] == ["ml-latest-small"]  # no temp files left
    ml = load_movielens(dest / "ml-latest-small")
    assert len(ml.ratings) == 2 and ml.movies["title"].tolist() == ["Toy Story"]
    assert f"ready at {dest / 'ml-latest-small'}" in capsys.readouterr().out
    # A second run finds the copy and downloads nothing.
    (site / "ml-latest-small.zip").unlink()
    assert fetch_data.main(["--dest", str(dest), "--base-url", url]) == 0
    assert "already available" in capsys.readouterr().out


def test_checksum_mismatch_is_refused_and_leaves_nothing(server, no_local_copy, tmp_path, capsys):
    site, url = server
    publish(site, "ml-latest-small", md5="0" * 32)
    dest = tmp_path / "dest"
    status = run(dest, url)
    assert status == fetch_data.EXIT_VERIFICATION_FAILED
    assert list(dest.iterdir()) == []
    assert "MD5" in capsys.readouterr().err


def test_known_md5_of_a_fixed_release_is_enforced(server, no_local_copy, tmp_path):
    """ml-1m never changes: a zip whose own .md5 agrees but differs from GroupLens's is refused."""
    site, url = server
    publish(site, "ml-1m")
    dest = tmp_path / "dest"
    status = run(dest, url, "ml-1m")
    assert status == fetch_data.EXIT_VERIFICATION_FAILED and list(dest.iterdir()) == []


def test_missing_checksum_is_refused(server, no_local_copy, tmp_path):
    site, url = server
    publish(site, "ml-latest-small")
    (site / "ml-latest-small.zip.md5").unlink()
    dest = tmp_path / "dest"
    status = run(dest, url)
    assert status == fetch_data.EXIT_VERIFICATION_FAILED and list(dest.iterdir()) == []


def test_unreachable_server_says_how_to_use_a_local_copy(server, no_local_copy, tmp_path, capsys):
    site, url = server  # nothing published: 404
    status = run(tmp_path / "dest", url)
    assert status == fetch_data.EXIT_DOWNLOAD_FAILED
    err = capsys.readouterr().err
    assert "DATA_DIR" in err and "MOVIELENS_PATH" in err
    assert list((tmp_path / "dest").iterdir()) == []


def test_existing_data_dir_copy_is_used(data_dir, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.delenv("MOVIELENS_PATH", raising=False)
    status = run(tmp_path, "http://127.0.0.1:9/")  # nothing listens: must not be needed
    assert status == 0
    assert str(data_dir / "ml-latest-small") in capsys.readouterr().out


def test_unpack_normalises_the_ml_10m_folder_name(tmp_path):
    zip_path = build_zip(tmp_path / "ml-10m.zip", "ml-10M100K")
    dest = tmp_path / "dest"
    dest.mkdir()
    folder = fetch_data.unpack(zip_path, dest, "ml-10m")
    assert folder == dest / "ml-10m" and (folder / "ratings.csv").is_file()
    assert [p.name for p in dest.iterdir()] == ["ml-10m"]
