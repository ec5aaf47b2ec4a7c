"""What a blend component is: the interface every component implements, and the data it gets.

A **component** is one source of opinions about movies for a person (popularity, Pearson CF,
co-liked movies, SBERT content, the neural model…). It implements:

- :meth:`Component.fit` — learn from a ratings table (:class:`TrainingData`), returning a
  fitted copy (or raising: the blend then leaves the component out, loudly);
- :meth:`Component.opinion` — its :class:`Opinion` of every catalogue movie for one profile:
  the feature columns it gives the blend's tree models (:attr:`Component.features`), the
  movies it proposes as candidates, and its raw evidence for chosen movies;
- :meth:`Component.sentence` — the reason sentence a person reads, from that evidence.

Adding a component is one new module under :mod:`recommender.blend.components` and one line in
:data:`recommender.blend.components.COMPONENTS`; the feature matrix, the learning and the
explanation pick it up from there.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from recommender.base import UserKey
from recommender.vocabulary import index_or_missing, lookup, positions_in

if TYPE_CHECKING:
    from recommender.blend.model import BlendRecommender


@dataclass(frozen=True)
class Catalogue:
    """The blend's movies and what is known about them (arrays aligned with ``movie_ids``).

    ``movie_ids``: sorted ``int64`` ``(n,)``; ``titles``: ``{movieId: natural title}``;
    ``year``: release year ``(n,)`` (NaN unknown); ``genres``: ``(n, n_genres)`` 0/1 float32
    (at least one column).
    """

    movie_ids: np.ndarray
    titles: dict[int, str]
    year: np.ndarray
    genres: np.ndarray

    @classmethod
    def build(cls, movie_ids: np.ndarray, movies: pd.DataFrame | None) -> Catalogue:
        """From the sorted catalogue ids and the movies table (movieId, title, year, genres)."""
        n = len(movie_ids)
        titles: dict[int, str] = {}
        year = np.full(n, np.nan)
        genres_of: list[list[str]] = [[] for _ in range(n)]
        if movies is not None:
            from recommender.catalog import natural_title

            pos = positions_in(movie_ids, movies["movieId"].to_numpy(dtype=np.int64))
            names = [natural_title(str(t)) for t in movies["title"]]
            titles = dict(zip(movies["movieId"].astype(int), names, strict=True))
            if "year" in movies.columns:
                years = pd.to_numeric(movies["year"], errors="coerce").astype("float64")
                year[pos] = years.to_numpy(dtype=np.float64, na_value=np.nan)
            if "genres" in movies.columns:
                for p, genres in zip(pos, movies["genres"], strict=True):
                    genres_of[p] = list(genres) if isinstance(genres, list | tuple) else []
        names = sorted({g for gs in genres_of for g in gs})
        column = {g: i for i, g in enumerate(names)}
        matrix = np.zeros((n, max(len(names), 1)), dtype=np.float32)
        for p, gs in enumerate(genres_of):
            for g in gs:
                matrix[p, column[g]] = 1.0
        return cls(np.asarray(movie_ids, dtype=np.int64), titles, year, matrix)

    def __len__(self) -> int:
        return len(self.movie_ids)

    def lookup(self, wanted) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, known)`` of movie ids (see :func:`recommender.vocabulary.lookup`)."""
        return lookup(self.movie_ids, wanted)

    def align(self, component_ids: np.ndarray) -> np.ndarray:
        """For each catalogue movie, its index in another model's ``component_ids`` or -1."""
        return index_or_missing(np.asarray(component_ids, dtype=np.int64), self.movie_ids)


@dataclass(frozen=True)
class TrainingData:
    """What a component learns from: ratings (userId, movieId, rating 0.5–5, timestamp), the
    movies table (may be ``None``) and the blend's :class:`Catalogue`."""

    ratings: pd.DataFrame
    movies: pd.DataFrame | None
    catalogue: Catalogue


class Opinion(ABC):
    """A fitted component's view of every catalogue movie for one profile.

    Positions (``idx``) index the blend's :class:`Catalogue`.
    """

    @abstractmethod
    def features(self, idx: np.ndarray) -> np.ndarray:
        """``(len(idx), len(component.features))`` float64, NaN where it has no opinion."""

    def candidates(self) -> list[np.ndarray]:
        """Orderings ``(n,)`` over the catalogue (higher first) whose top movies the blend
        considers; none by default."""
        return []

    def evidence(self, idx: np.ndarray) -> list[dict[str, Any]]:
        """Raw, JSON-able evidence for each of ``idx`` (what its :meth:`Component.sentence`
        reads); nothing by default."""
        return [{} for _ in range(len(idx))]

    def context(self) -> dict[str, Any]:
        """List-wide explanation (e.g. the neighbours), merged into the list's context."""
        return {}


class Component(ABC):
    """One part of the blend (see the module docstring).

    Subclasses set ``name`` and ``features`` (the names of their feature columns, in order).
    ``optional`` components may be missing — switched off, failed to fit, or without an
    opinion for a profile; the feature matrix then gives them a ``<name>_missing`` column.
    """

    name: ClassVar[str]
    features: ClassVar[tuple[str, ...]]
    optional: ClassVar[bool] = True

    @classmethod
    def configure(cls, blend: BlendRecommender) -> Component | None:
        """An unfitted component set up from the blend's parameters, or ``None`` when the
        blend is told not to use it."""
        return cls()

    def prepare(self, data: TrainingData) -> None:  # noqa: B027 (a hook: most need none)
        """Work that does not depend on who is held out (e.g. encoding movie texts), done
        once on all training data before cross-fitting. Nothing by default."""

    @abstractmethod
    def fit(self, data: TrainingData) -> Component:
        """A fitted copy of this component (``self`` is left as it was); raises on failure."""

    @abstractmethod
    def opinion(self, profile: dict[int, float], user: UserKey | None) -> Opinion | None:
        """This component's :class:`Opinion` for ``profile``; ``None`` when it has none."""

    @staticmethod
    def sentence(evidence: Mapping[str, Any]) -> str | None:
        """The reason sentence for one recommendation's evidence, ``None`` when too weak."""
        return None

    def upsert_user(  # noqa: B027 (a hook: only neighbourhood components need it)
        self, user: str, profile: Mapping[int, float] | None
    ) -> None:
        """Keep an app user's ratings (``None`` removes them); only neighbourhood components
        care."""

    def reuse(self, fitted: Component) -> Component:
        """The prototype for the next cross-fitting rounds and the final fit, given this
        component as ``fitted`` in the first round: what that fit learned and need not be
        searched again (e.g. how long to train). ``self`` by default (nothing to reuse)."""
        return self

    def clone(self) -> Component:
        """A shallow copy, for :meth:`fit` to return fitted."""
        return copy.copy(self)


@dataclass
class Opinions:
    """Every available component's :class:`Opinion` for one profile (registry order)."""

    profile: dict[int, float]
    by_component: dict[str, Opinion] = field(default_factory=dict)

    def names(self) -> tuple[str, ...]:
        return tuple(self.by_component)
