"""The blend's components, in the order their feature columns appear.

To add a component: write a module here with a :class:`~recommender.blend.component.Component`
subclass, and add it to :data:`COMPONENTS`. Models tried as components are in
:mod:`recommender.blend.components.models`; of them only EASE is served (with ``following``
and ``era`` it raised NDCG@24 by more than one standard deviation: README, "Stronger
together").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recommender.blend.component import Component
from recommender.blend.components.coliked import CoLikedComponent
from recommender.blend.components.content import ContentComponent
from recommender.blend.components.era import EraComponent
from recommender.blend.components.following import FollowingComponent
from recommender.blend.components.models import EASEComponent
from recommender.blend.components.neural import NeuralComponent
from recommender.blend.components.pearson import PearsonComponent
from recommender.blend.components.popularity import Popularity

COMPONENTS: tuple[type[Component], ...] = (
    Popularity,
    CoLikedComponent,
    PearsonComponent,
    ContentComponent,
    NeuralComponent,
    FollowingComponent,
    EraComponent,
    EASEComponent,
)
"""Every blend component; the optional ones may be missing (popularity is always there)."""

OPTIONAL: tuple[str, ...] = tuple(c.name for c in COMPONENTS if c.optional)
"""Names of the components that may be missing, in registry order."""


def component_sentence(name: str, evidence: Mapping[str, Any]) -> str | None:
    """The reason sentence of component ``name`` for one evidence dict (``None``: too weak,
    or no such component)."""
    for component in COMPONENTS:
        if component.name == name:
            return component.sentence(evidence)
    return None
