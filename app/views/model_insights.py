"""Model insights: the plots the training and evaluation scripts made, each with a caption.

The worker lists them and serves the images (``GET /api/v1/insights/plots``); when none exist
yet, a short note says how to build them.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.session import client

NOT_BUILT = (
    "**Not built yet.** These plots come from training and evaluating the models: run "
    "`make models` (or `make run`, which builds them first), then reload this page."
)


@st.cache_data(ttl=300, max_entries=32, show_spinner=False)
def plot_image(name: str, _client: Any) -> bytes:
    """A plot's PNG, kept 5 minutes for every visitor (the plots are the same for everyone;
    ``_client`` is not part of the cache key)."""
    return _client.plot_image(name)


def render(me: dict[str, Any] | None = None) -> None:
    """Draw every plot the worker lists, with its title and caption."""
    st.subheader("Model insights: how the recommender works")
    plots = client().plots()
    if not plots:
        st.info(NOT_BUILT)
        return
    for plot in plots:
        st.markdown(f"#### {plot['title']}")
        st.image(plot_image(plot["name"], client()), width="stretch")
        st.caption(plot["caption"])
