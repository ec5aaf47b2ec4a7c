"""The quiet line saying which recommendations are served, and the model build's steps.

Shown above the recommendations while the full model is not served yet (a first start serves
taste-neighbour picks, Pearson, while ``scripts/build_models.py`` builds the blend in the
background) or when its build failed; nothing when the full model is served and current. The
words come from the worker (``GET /api/v1/status``, ``worker/services/build.py``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.client import ApiError, WorkerUnavailable
from app.session import client

STATE_WORDS = {"waiting": "waiting", "running": "building", "done": "done", "failed": "failed"}


def fetch() -> dict[str, Any] | None:
    """The worker's status answer, or ``None`` when it cannot be had (the line is left out:
    it must never stand in the way of the recommendations)."""
    try:
        return client().status()
    except (ApiError, WorkerUnavailable):
        return None


def needs_line(status: dict[str, Any] | None) -> bool:
    """Whether there is anything to say: a stand-in is served, or a build runs or failed."""
    if not status:
        return False
    state = (status.get("build") or {}).get("state")
    return status.get("serving") != "final" or state in ("running", "failed")


def _step_text(number: int, step: dict[str, Any]) -> str:
    words = STATE_WORDS.get(step.get("state"), step.get("state", ""))
    name = str(step.get("name", ""))
    text = f"{number}. {name[:1].upper()}{name[1:]} — {words}"
    if step.get("state") == "running":
        text += f", {int(round(100 * float(step.get('progress') or 0)))} %"
    if step.get("seconds") is not None:
        text += f" ({float(step['seconds']):.0f} s)"
    return text


def render(status: dict[str, Any] | None) -> None:
    """Draw the status line and, folded under it, the build's steps with their progress."""
    if not needs_line(status):
        return
    st.caption(status["message"])
    build = status.get("build") or {}
    if not build.get("steps"):
        return
    with st.expander("Model build progress", expanded=build.get("state") == "failed"):
        for number, step in enumerate(build["steps"], start=1):
            st.progress(float(step.get("progress") or 0.0), text=_step_text(number, step))
        if build.get("state") == "failed":
            st.error(f"The build failed: {build.get('error') or 'see the log'}")
        if build.get("log"):
            st.caption(f"Build log: `{build['log']}`")
