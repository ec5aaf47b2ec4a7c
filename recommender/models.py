"""The registry of models by name: every script and the worker resolves models here.

``make_model("pearson", neighbours=30)`` imports the model's module only when asked for, so
asking for ``pearson`` never imports TensorFlow. To add a model, add one line to
``_MODELS``: ``"name": "package.module:ClassName"`` (the class takes its settings as keyword
arguments and implements :class:`recommender.base.Recommender`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from recommender.base import Recommender

_MODELS: dict[str, str] = {
    "popularity": "recommender.popularity:PopularityRecommender",
    "pearson": "recommender.pearson:PearsonRecommender",
    "nncf": "recommender.neural.nncf:NNCFRecommender",
    "nncf-genres": "recommender.neural.nncf:NNCFGenresRecommender",
    "nncf-plain": "recommender.neural.nncf:NNCFPlainRecommender",
    "neumf": "recommender.neural.neumf:NeuMFRecommender",
    "embed": "recommender.neural.embed:EmbedRecommender",
    "embed-implicit": "recommender.neural.embed:EmbedImplicitRecommender",
    "item-knn": "recommender.item_knn:ItemKNNRecommender",
    "mf-sgd": "recommender.mf_sgd:MFSGDRecommender",
    "autorec": "recommender.neural.autorec:AutoRecRecommender",
    "ease": "recommender.ease:EASERecommender",
    "rating-blend": "recommender.rating_blend:RatingBlendRecommender",
    "surprise-svd": "recommender.baselines:SurpriseSVDRecommender",
    "surprise-nmf": "recommender.baselines:SurpriseNMFRecommender",
    "sbert": "recommender.content:ContentRecommender",
    "blend": "recommender.blend:BlendRecommender",
}

MODEL_NAMES: tuple[str, ...] = tuple(_MODELS)
"""Names accepted by :func:`make_model`, in registry order."""


class UnknownModel(ValueError):
    """``make_model`` was asked for a name that is not in the registry."""


def model_class(name: str) -> type[Recommender]:
    """The class registered as ``name`` (imported on first use)."""
    try:
        module_name, class_name = _MODELS[name].split(":")
    except KeyError:
        raise UnknownModel(
            f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}"
        ) from None
    return getattr(import_module(module_name), class_name)


def make_model(name: str, **params: Any) -> Recommender:
    """A new, unfitted model ``name`` built with ``params`` (its constructor's keywords)."""
    return model_class(name)(**params)
