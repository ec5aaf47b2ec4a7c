"""Components fitted on one ratings table, and what they say together about one profile."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np

from recommender.base import UserKey
from recommender.blend.component import Catalogue, Component, Opinions, TrainingData

log = logging.getLogger(__name__)


_THREADS: tuple[int, ThreadPoolExecutor] | None = None


def component_threads() -> ThreadPoolExecutor:
    """This process's pool of threads for asking components (made on first use, and again in
    a forked child)."""
    global _THREADS
    if _THREADS is None or _THREADS[0] != os.getpid():
        _THREADS = (os.getpid(), ThreadPoolExecutor(max_workers=8, thread_name_prefix="opinion"))
    return _THREADS[1]


@dataclass
class Ensemble:
    """Fitted components (registry order; an optional one that failed to fit is absent)."""

    catalogue: Catalogue
    components: dict[str, Component]

    @classmethod
    def fit(cls, prototypes: Sequence[Component], data: TrainingData) -> Ensemble:
        """Fit each configured component on ``data``; an optional one that fails is left out
        (logged), a required one's failure is raised."""
        fitted: dict[str, Component] = {}
        for component in prototypes:
            try:
                fitted[component.name] = component.fit(data)
            except Exception:
                if not component.optional:
                    raise
                log.exception("blend: %s component unavailable", component.name)
        return cls(data.catalogue, fitted)

    def names(self) -> tuple[str, ...]:
        return tuple(self.components)

    def without(self, names: Sequence[str]) -> Ensemble:
        """The same ensemble with components ``names`` left out."""
        kept = {n: c for n, c in self.components.items() if n not in names}
        return Ensemble(self.catalogue, kept)

    def opinions(
        self, profile: dict[int, float], user: UserKey | None, *, threads: bool = False
    ) -> Opinions:
        """Every component's opinion of ``profile``; an optional component that fails for this
        one profile is left out (logged) so the blend falls back. ``threads``: the components
        are asked at once, each in a thread of the process's pool (:func:`component_threads`):
        their heavy parts (sparse products, BLAS, TensorFlow, sorting) release the GIL, so a
        list is ready sooner when a core is free; the opinions are the same."""
        out = Opinions(profile)
        asked = list(self.components.items())
        if threads and len(asked) > 1:
            pool = component_threads()
            pending = [pool.submit(c.opinion, profile, user) for _, c in asked]
            answers = [future.result for future in pending]
        else:
            answers = [partial(c.opinion, profile, user) for _, c in asked]
        for (name, component), answer in zip(asked, answers, strict=True):
            try:
                opinion = answer()
            except Exception:
                if not component.optional:
                    raise
                log.exception("blend: %s failed for one profile; falling back", name)
                continue
            if opinion is not None:
                out.by_component[name] = opinion
        return out

    def pool(self, opinions: Opinions, size: int) -> np.ndarray:
        """Candidate positions: the union of every component's top ``size`` movies by each of
        its orderings, without the profile's movies."""
        banned, known = self.catalogue.lookup(np.array(list(opinions.profile), dtype=np.int64))
        banned = banned[known]  # unknown movies in the profile exclude nothing
        n = size + len(banned)
        chosen = []
        for opinion in opinions.by_component.values():
            for key in opinion.candidates():
                key = np.nan_to_num(np.asarray(key, dtype=np.float64), nan=-np.inf, neginf=-1e300)
                chosen.append(np.argpartition(-key, min(n, len(key) - 1))[:n])
        pool = np.unique(np.concatenate(chosen))
        return pool[~np.isin(pool, banned)]
