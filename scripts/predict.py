"""Predict ratings and match percentages for (user, movie) pairs with any registered model.

Usage (from the repo root)::

    python -m scripts.predict --model pearson --train ratings.csv [--movies movies.csv] \\
        [--profiles profiles.csv] --test pairs.csv --out predictions.csv [--param neighbours=30]

- ``--train``: MovieLens ratings CSV (userId,movieId,rating,timestamp); the model is fitted on it.
- ``--movies``: optional movies.csv (movieId,title,genres); adds unrated movies to the catalogue
  and gives content models their features. Content models find the TMDB overviews file through
  ``recommender.settings.overviews_path()`` (``OVERVIEWS_PATH``, else
  ``DATA_DIR/overviews/tmdb_overviews.csv``); nothing to pass here.
- ``--profiles``: optional ratings CSV (same columns) of people absent from ``--train``. They are
  folded in: their ratings are their profile, and models that keep app users as neighbours
  (Pearson's ``upsert_user``) add them under the key ``"profile:<userId>"``, as the app would.
- ``--test``: CSV with columns userId,movieId (other columns are ignored).
- ``--out``: written with one row per ``--test`` row, in the same order:
  ``userId,movieId,prediction,match`` — prediction in stars (0.5–5), match in percent (0–100).

A user of ``--test`` found in ``--profiles`` uses that profile; else one in ``--train`` uses their
training ratings (``user=userId``, so they are never their own neighbour); else an empty profile.

Exit code 2 with a one-line message on stderr for a bad or missing input file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from recommender.base import InvalidProfile, Profile, Recommender, UserKey, validate_profile
from recommender.models import MODEL_NAMES, UnknownModel, make_model
from recommender.movielens import DatasetError, read_movies_csv, read_ratings_csv


class InputError(Exception):
    """A command-line input is unusable; the message says which file and why."""


def fail(message: str) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with code 2."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """``["neighbours=30", "min_predicted=3.5"]`` -> ``{"neighbours": 30, ...}`` (int/float/str)."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InputError(f"--param {item!r}: expected NAME=VALUE")
        for cast in (int, float):
            try:
                params[key] = cast(text)
                break
            except ValueError:
                continue
        else:
            params[key] = text
    return params


def read_ratings(path: str | Path, what: str) -> pd.DataFrame:
    """Ratings CSV as a DataFrame (see ``read_ratings_csv``); :class:`InputError` if unusable."""
    try:
        return read_ratings_csv(path)
    except (OSError, DatasetError, ValueError, KeyError) as exc:
        raise InputError(f"{what} {path}: {exc}") from exc


def read_movies(path: str | Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    try:
        return read_movies_csv(path)
    except (OSError, DatasetError, ValueError, KeyError) as exc:
        raise InputError(f"--movies {path}: {exc}") from exc


def read_pairs(path: str | Path) -> pd.DataFrame:
    """The userId,movieId columns of a CSV, as ``int64``."""
    try:
        pairs = pd.read_csv(path)
        return pairs[["userId", "movieId"]].astype(np.int64)
    except FileNotFoundError as exc:
        raise InputError(f"--test {path}: the file does not exist") from exc
    except KeyError as exc:
        raise InputError(f"--test {path}: expected columns userId,movieId") from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"--test {path}: not a CSV of integer userId,movieId ({exc})") from exc


def profiles_of(ratings: pd.DataFrame) -> dict[int, dict[int, float]]:
    """``{userId: {movieId: stars}}`` of a ratings table."""
    return {
        int(user): dict(
            zip(group["movieId"].astype(int), group["rating"].astype(float), strict=True)
        )
        for user, group in ratings.groupby("userId")
    }


def profile_key(user: int) -> str:
    """The app-user key a --profiles user is folded in under."""
    return f"profile:{user}"


class Profiles:
    """Finds the profile (and the ``user`` argument) of each userId for a fitted model."""

    def __init__(self, model: Recommender, train: pd.DataFrame, extra: pd.DataFrame | None):
        self.train = train
        self.train_users = set(np.unique(train["userId"].to_numpy()).tolist())
        self.extra = profiles_of(extra) if extra is not None else {}
        for profile in self.extra.values():
            validate_profile(profile)  # InvalidProfile names the bad rating
        overlap = self.train_users.intersection(self.extra)
        if overlap:
            raise InputError(f"--profiles users also in --train: {sorted(overlap)[:5]}")
        self._train_groups = train.groupby("userId").indices
        upsert = getattr(model, "upsert_user", None)
        if upsert is not None:
            for user, profile in self.extra.items():
                upsert(profile_key(user), profile)
        self.folded_in = upsert is not None

    def get(self, user: int) -> tuple[Profile, UserKey | None]:
        """(profile, user argument for the model) of ``user``; empty profile if unknown."""
        if user in self.extra:
            return self.extra[user], profile_key(user) if self.folded_in else None
        rows = self._train_groups.get(user)
        if rows is None:
            return {}, None
        own = self.train.iloc[rows]
        return dict(zip(own["movieId"].astype(int), own["rating"].astype(float), strict=True)), user


def fitted_model(args: argparse.Namespace) -> tuple[Recommender, Profiles]:
    """Read ``--train``/``--movies``/``--profiles``, fit ``--model``, fold in the profiles."""
    train = read_ratings(args.train, "--train")
    movies = read_movies(args.movies)
    extra = read_ratings(args.profiles, "--profiles") if args.profiles else None
    try:
        model = make_model(args.model, **parse_params(args.param))
    except (UnknownModel, TypeError) as exc:
        raise InputError(str(exc)) from exc
    model.fit(train, movies)
    try:
        return model, Profiles(model, train, extra)
    except InvalidProfile as exc:
        raise InputError(f"--profiles {args.profiles}: {exc}") from exc


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODEL_NAMES)}")
    parser.add_argument("--train", required=True, help="ratings CSV to fit on")
    parser.add_argument("--movies", help="movies.csv (optional)")
    parser.add_argument(
        "--param", action="append", default=[], help="model setting NAME=VALUE (repeatable)"
    )
    parser.add_argument("--out", required=True, help="output CSV")


def predict_pairs(model: Recommender, profiles: Profiles, pairs: pd.DataFrame) -> pd.DataFrame:
    """``userId,movieId,prediction,match`` for every row of ``pairs``, in the same order."""
    prediction = np.zeros(len(pairs))
    match = np.zeros(len(pairs))
    for user, rows in pairs.groupby("userId").indices.items():
        profile, key = profiles.get(int(user))
        movie_ids = pairs["movieId"].to_numpy()[rows]
        prediction[rows] = model.predict(profile, movie_ids, user=key)
        match[rows] = model.predict_match(profile, movie_ids, user=key)
    out = pairs[["userId", "movieId"]].copy()
    out["prediction"] = np.round(prediction, 4)
    out["match"] = np.round(match, 2)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--profiles", help="ratings CSV of users absent from --train")
    parser.add_argument("--test", required=True, help="CSV of userId,movieId pairs")
    args = parser.parse_args(argv)
    try:
        pairs = read_pairs(args.test)
        model, profiles = fitted_model(args)
        predict_pairs(model, profiles, pairs).to_csv(args.out, index=False)
    except InputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--out {args.out}: {exc}")


if __name__ == "__main__":
    main()
