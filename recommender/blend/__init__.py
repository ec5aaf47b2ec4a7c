"""Recommender ``blend``: one ranked list from several components — popularity, co-liked
movies, Pearson CF, SBERT content, the neural model (when available), what people went on to
rate after the profile's movies (``following``), when the person rates (``era``) and EASE —
with weights learned on held-out users.

Where each part lives:

- :mod:`recommender.blend.component` — the :class:`Component` interface (fit; the features,
  candidates and evidence it gives for a profile; its reason sentence) and the data it gets;
- :mod:`recommender.blend.components` — one module per component, and the registry
  :data:`COMPONENTS` (adding a component: one module there, one line in the registry);
- :mod:`recommender.blend.features` — the feature matrix (profile features, each component's
  columns and ``<name>_missing`` indicators, neutral values);
- :mod:`recommender.blend.learning` — cross-fitting, the rank / match / rating trees, the
  calibration of the match percentage;
- :mod:`recommender.blend.explanation` — contributions, evidence and reasons;
- :mod:`recommender.blend.model` — :class:`BlendRecommender`, the orchestrator;
- :mod:`recommender.blend.storage` — saved versions (``ARTIFACTS_DIR/blend/<version>``, the
  convention of :mod:`recommender.artifacts`, format checked on load).

A component that cannot score (absent, failed to load, or no opinion about one movie — e.g.
no neighbour rated it) contributes its *neutral* value and a 1 in its missing indicator;
during training whole components are randomly blanked this way (``dropout``), so the learned
model knows what to do when one is gone. The list is ordered by P(the person rates it 4★+);
the **match percentage** is ``100 × P(rating >= 4 | the person rates this movie)``, calibrated
(:mod:`recommender.calibration`); ``predicted`` is the rating model's stars. At scoring time
only the candidate pool (the union of each component's top ``pool`` movies, or the requested
movies / ``candidates``) goes through the tree models.
"""

from recommender.blend.component import Component, Opinion
from recommender.blend.components import COMPONENTS, OPTIONAL
from recommender.blend.components.neural import NEURAL_PREFERENCE
from recommender.blend.model import BlendRecommender
from recommender.blend.storage import blend_dir, blend_root, load_blend

__all__ = [
    "COMPONENTS",
    "NEURAL_PREFERENCE",
    "OPTIONAL",
    "BlendRecommender",
    "Component",
    "Opinion",
    "blend_dir",
    "blend_root",
    "load_blend",
]
