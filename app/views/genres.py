"""Choose at least five genres; the rating grid shows movies of these genres."""

from __future__ import annotations

import streamlit as st

from app.client import WorkerClient
from app.config import GENRES_NEEDED, AppConfig
from app.session import VIEW_GENRES, VIEW_RATE, client, flash, forget, go_to, safe_callback

HIDDEN_GENRES = {"(no genres listed)"}


@st.cache_data(ttl=3600, show_spinner=False)
def all_genres(worker_url: str, timeout_seconds: float) -> list[str]:
    """Every genre of the catalogue (anonymous data, shared by all visitors for an hour)."""
    names = WorkerClient(worker_url, timeout_seconds).genres()
    return [name for name in names if name not in HIDDEN_GENRES]


def render(my_genres: list[str]) -> None:
    """Draw the genre chips (pre-selected with ``my_genres``) and the Save button."""
    config = AppConfig.from_env()
    options = all_genres(config.worker_url, config.timeout_seconds)
    st.subheader("Which genres do you enjoy?")
    st.write(f"Pick at least {GENRES_NEEDED}. You can change them any time.")
    if "genre_pick" not in st.session_state:
        # Streamlit forgets a widget's value when its page is left; the draft keeps a partial
        # pick until the person comes back.
        draft = st.session_state.get("genre_draft")
        start = draft if draft is not None else my_genres
        st.session_state["genre_pick"] = [g for g in start if g in options]
    chosen = (
        st.pills(
            "Genres",
            options,
            selection_mode="multi",
            key="genre_pick",
            label_visibility="collapsed",
            on_change=_keep_draft,
        )
        or []
    )
    missing = GENRES_NEEDED - len(chosen)
    if missing > 0:
        st.caption(f"{len(chosen)} chosen — pick {missing} more.")
    else:
        st.caption(f"{len(chosen)} chosen.")
    st.button(
        "Save genres",
        type="primary",
        disabled=missing > 0,
        key="save_genres",
        on_click=_save_genres,
    )


def _keep_draft() -> None:
    """Pills callback: remember the pick so far (it outlives a visit to another page)."""
    st.session_state["genre_draft"] = list(st.session_state.get("genre_pick") or [])


def needs_genres(me: dict) -> bool:
    """True while the person has not saved their genres yet."""
    return len(me.get("genres") or []) < GENRES_NEEDED


def guide_back(me: dict) -> None:
    """On another page before the genres are saved: say so, with a button back to them."""
    if not needs_genres(me):
        return
    draft = st.session_state.get("genre_draft") or []
    picked = f" You have picked {len(draft)} so far." if draft else ""
    st.info(
        f"**First, pick at least {GENRES_NEEDED} genres you enjoy** — the movies to rate come "
        f"from them.{picked}"
    )
    st.button(
        "Pick my genres", key="guide_genres", type="primary", on_click=go_to, args=(VIEW_GENRES,)
    )


@safe_callback
def _save_genres() -> None:
    """Button callback: store the chosen genres, then move on to rating."""
    chosen = list(st.session_state.get("genre_pick") or [])
    client().set_my_genres(chosen)
    st.session_state.pop("genre_draft", None)
    forget("grid")
    flash(
        "success", "Genres saved. Now rate movies you have seen — click the stars under a poster."
    )
    go_to(VIEW_RATE)
