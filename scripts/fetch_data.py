"""Make a MovieLens release available locally, downloading it from GroupLens when needed.

Usage: ``python -m scripts.fetch_data [--release ml-latest-small] [--dest DIR]``

1. If the release is already where :func:`recommender.settings.movielens_dir` looks
   (``MOVIELENS_PATH``, ``DATA_DIR/<release>``, ``DATA_CACHE_DIR/<release>``) or in ``--dest``,
   print where and go on with step 4.
2. Otherwise check there is room (about 5x the zip's known size), stream
   ``<base>/<release>.zip`` to a temporary file (tqdm progress bar), check its size against
   the announced Content-Length and its MD5 against GroupLens's published
   ``<release>.zip.md5`` and, for releases that never change, the MD5 known here.
3. Unpack into a temporary folder inside ``--dest`` (default ``settings.data_cache_dir()``) and
   rename it to ``<dest>/<release>`` in one step, so a half-unpacked release never appears.
   ml-10m's zip holds ``ml-10M100K/``; it becomes ``ml-10m/``.
4. With ``TMDB_API_KEY`` set, fetch overviews, taglines and poster paths for every movie of
   the release (:mod:`scripts.fetch_tmdb`: rate-limited, cached, resumable); without a key,
   movies keep a placeholder poster, and the command says how to get a free key.

Exit status: 0 ready (also when some TMDB data is still missing); 2 download failed (for
example no internet: the message says how to use a local copy); 3 the download failed
verification (nothing is kept).
The base URL can be changed with ``--base-url`` or ``MOVIELENS_BASE_URL`` (a mirror).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import requests
from tqdm import tqdm

from recommender import settings
from recommender.movielens import detect_format

BASE_URL = "https://files.grouplens.org/datasets/movielens/"
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = (10, 60)  # connect, read
EXIT_OK, EXIT_DOWNLOAD_FAILED, EXIT_VERIFICATION_FAILED = 0, 2, 3


@dataclass(frozen=True)
class Release:
    """A GroupLens release: approximate zip size (MB, for the free-space check) and, for
    releases that never change, their published MD5 (``None`` for ml-latest*, re-issued)."""

    approx_mb: float
    md5: str | None = None


RELEASES = {
    "ml-latest-small": Release(1.0),
    "ml-latest": Release(335.0),
    "ml-100k": Release(4.9, "0e33842e24a9c977be4e0107933c0723"),
    "ml-1m": Release(5.9, "c4d9eecfca2ab87c1945afe126590906"),
    "ml-10m": Release(63.0, "ce571fd55effeba0271552578f2648bd"),
    "ml-20m": Release(190.0, "cd245b17a1ae2cc31bb14903e1204af3"),
    "ml-25m": Release(250.0, "6b51fb2759a8657d3bfcbfc42b592ada"),
    "ml-32m": Release(239.0),
}
SPACE_FACTOR = 5
"""Free space needed in ``--dest``, as a multiple of the zip size (zip + unpacked CSVs)."""


class DownloadError(RuntimeError):
    """The release could not be downloaded (network, HTTP error, truncated transfer)."""


class VerificationError(RuntimeError):
    """The downloaded file is not the published release (size or checksum mismatch)."""


# --------------------------------------------------------------------------- finding a copy


def existing_copy(release: str, dest: Path) -> Path | None:
    """The first folder holding ``release`` in a known layout, or ``None``."""
    for folder in (settings.movielens_dir(release), dest / release):
        if detect_format(folder) is not None:
            return folder
    return None


# --------------------------------------------------------------------------- downloading


def download(url: str, target: Path, description: str) -> int:
    """Stream ``url`` into ``target`` with a progress bar; returns the number of bytes.

    Raises :class:`DownloadError` on any network or HTTP failure, or when fewer bytes arrive
    than the server announced."""
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT_SECONDS) as response:
            response.raise_for_status()
            announced = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            with (
                target.open("wb") as out,
                tqdm(total=announced, unit="B", unit_scale=True, desc=description) as bar,
            ):
                for chunk in response.iter_content(CHUNK_BYTES):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (requests.RequestException, OSError) as exc:
        raise DownloadError(f"cannot download {url}: {exc}") from exc
    if announced is not None and received != announced:
        raise DownloadError(f"{url}: received {received} of {announced} bytes")
    return received


def published_md5(url: str) -> str | None:
    """The MD5 in GroupLens's ``.md5`` file at ``url`` (``MD5 (x.zip) = <hex>`` or
    ``<hex>  x.zip``), or ``None`` when it cannot be fetched or holds no MD5."""
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException:
        return None
    found = re.search(r"\b[0-9a-fA-F]{32}\b", response.text)
    return found.group(0).lower() if found else None


def file_md5(path: Path) -> str:
    """Hex MD5 of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_free_space(dest: Path, release: str) -> None:
    """Raise :class:`DownloadError` when ``dest`` lacks room for the zip and its contents."""
    needed_mb = RELEASES[release].approx_mb * SPACE_FACTOR
    free_mb = shutil.disk_usage(dest).free / 1e6
    if free_mb < needed_mb:
        raise DownloadError(f"{dest} has {free_mb:.0f} MB free; {release} needs ~{needed_mb:.0f}")


def verify(path: Path, release: str, published: str | None) -> None:
    """Check the zip's MD5 equals every checksum known for it (published and built in).

    Raises :class:`VerificationError` on a mismatch or when no checksum is known at all."""
    expected = {md5 for md5 in (RELEASES[release].md5, published) if md5}
    if not expected:
        raise VerificationError(f"no published MD5 for {release}.zip could be fetched")
    actual = file_md5(path)
    if expected != {actual}:
        raise VerificationError(
            f"{release}.zip has MD5 {actual}, expected {' and '.join(sorted(expected))}"
        )


# --------------------------------------------------------------------------- unpacking


def unpack(zip_path: Path, dest: Path, release: str) -> Path:
    """Unpack ``zip_path`` (one top folder, e.g. ``ml-10M100K/``) to ``dest/<release>``.

    Extraction happens in a temporary folder inside ``dest``, renamed into place at the end,
    so ``dest/<release>`` either appears complete or not at all. Returns the new folder."""
    target = dest / release
    if target.exists():
        raise FileExistsError(f"{target} exists but holds no known dataset; remove it first")
    staging = Path(tempfile.mkdtemp(prefix=f".{release}-", dir=dest))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(staging)
        entries = [p for p in staging.iterdir() if not p.name.startswith("__MACOSX")]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        if detect_format(root) is None:
            raise VerificationError(f"{zip_path.name} holds no MovieLens files")
        root.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def fetch(release: str, dest: Path, base_url: str) -> Path:
    """Download, verify and unpack ``release`` into ``dest``; returns its folder.

    Raises :class:`DownloadError` or :class:`VerificationError`; leaves no partial files."""
    dest.mkdir(parents=True, exist_ok=True)
    check_free_space(dest, release)
    url = f"{base_url.rstrip('/')}/{release}.zip"
    handle, name = tempfile.mkstemp(prefix=f".{release}-", suffix=".zip.part", dir=dest)
    os.close(handle)
    part = Path(name)
    try:
        download(url, part, f"{release}.zip")
        verify(part, release, published_md5(f"{url}.md5"))
        return unpack(part, dest, release)
    finally:
        part.unlink(missing_ok=True)


# --------------------------------------------------------------------------- command line


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", default=settings.movielens_release(), choices=RELEASES)
    parser.add_argument("--dest", type=Path, default=None, help="default: DATA_CACHE_DIR")
    parser.add_argument(
        "--base-url", default=os.environ.get("MOVIELENS_BASE_URL", "").strip() or BASE_URL
    )
    return parser.parse_args(argv)


def _how_to_use_a_local_copy(release: str) -> str:
    return (
        f"If you have {release} locally, point the project at it instead: "
        f"DATA_DIR=/path/to/folder-holding-{release} (with {release}/ratings.csv inside) or "
        f"MOVIELENS_PATH=/path/to/{release}."
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    args = _parse_args(argv)
    dest = (args.dest or settings.data_cache_dir()).expanduser()
    found = existing_copy(args.release, dest)
    if found is not None:
        print(f"{args.release} is already available at {found}")
        return fetch_overviews(found)
    try:
        folder = fetch(args.release, dest, args.base_url)
    except DownloadError as exc:
        print(f"Download failed: {exc}. {_how_to_use_a_local_copy(args.release)}", file=sys.stderr)
        return EXIT_DOWNLOAD_FAILED
    except VerificationError as exc:
        print(f"Refused the download: {exc}. Nothing was kept.", file=sys.stderr)
        return EXIT_VERIFICATION_FAILED
    print(f"{args.release} is ready at {folder}")
    if settings.movielens_dir(args.release).resolve() != folder.resolve():
        print(f"To use it, set MOVIELENS_PATH={folder} (or DATA_DIR={folder.parent}).")
    return fetch_overviews(folder)


def fetch_overviews(folder: Path) -> int:
    """Step 4: TMDB data for the release in ``folder`` when ``TMDB_API_KEY`` is set; a hint
    when neither a key nor an overviews file is there. Always :data:`EXIT_OK` (TMDB data is
    optional; a refused key or a partial fetch is reported by :mod:`scripts.fetch_tmdb`)."""
    from scripts import fetch_tmdb

    if os.environ.get("TMDB_API_KEY", "").strip():
        fetch_tmdb.main(["--links", str(folder / "links.csv")])
    elif settings.overviews_path() is None:
        print(
            "No plot overviews or posters: set TMDB_API_KEY (a free key from themoviedb.org, "
            "Settings → API) and run this again to fetch them."
        )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
