"""Insights: the plots the training and evaluation scripts wrote, each with a caption.

The images are read from ``ARTIFACTS_DIR`` on this machine (``make run`` runs the app and the
scripts on one machine). When none exist yet, a short note says how to build them.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.config import AppConfig
from app.plots import find_plots

NOT_BUILT = (
    "**Not built yet.** These plots come from training and evaluating the models: run "
    "`make models` (or `make run`, which builds them first), then reload this page. "
    "They are read from `{folder}` (the `ARTIFACTS_DIR` setting)."
)


def render(me: dict[str, Any] | None = None) -> None:
    """Draw every plot found under ``ARTIFACTS_DIR`` with its title and caption."""
    st.subheader("How the recommender works")
    folder = AppConfig.from_env().artifacts_dir
    plots = find_plots(folder)
    if not plots:
        st.info(NOT_BUILT.format(folder=folder))
        return
    for plot in plots:
        st.markdown(f"#### {plot.title}")
        st.image(str(plot.path), width="stretch")
        st.caption(plot.caption)
