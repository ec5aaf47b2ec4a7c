"""Discover: five movies at a time; tick the ones you like and "Next 5" picks five more from
your taste so far (the worker's ``/me/discover`` loop). Your top genres grow as you tick.

Ticks steer only this page. They are not ratings: only the stars (the rating control on each
card) add a movie to the profile the recommendations use.
"""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from app.components import movie_title, plain, poster_html, rating_control
from app.session import client, known_rating, safe_callback, save_rating

#: Genres listed as "your top genres so far".
TOP_GENRES = 5

EXPLAIN = (
    "Tick **I like this** on the movies that appeal to you and press **Next 5**: each round "
    "picks five more from your taste so far. Ticks only steer this page — they are not "
    "ratings. Only rating a movie (the stars) adds it to the profile your recommendations use."
)


def _round(state: dict[str, Any]) -> int:
    return int(state.get("round", 1))


def _tick_key(state: dict[str, Any], movie_id: int) -> str:
    return f"like:{_round(state)}:{movie_id}"


def current() -> dict[str, Any]:
    """This visitor's current round (fetched once, then replaced by the buttons)."""
    state = st.session_state.get("discover")
    if state is None:
        state = client().discover()
        st.session_state["discover"] = state
    return state


@safe_callback
def _next_five() -> None:
    """Button callback: send this round's ticks and the movies shown; keep the next round."""
    state = st.session_state.get("discover") or {}
    shown = [int(item["movie"]["id"]) for item in state.get("items") or []]
    liked = [m for m in shown if st.session_state.get(_tick_key(state, m))]
    st.session_state["discover"] = client().discover_next(liked, shown)


@safe_callback
def _start_over() -> None:
    """Button callback: forget every tick on the worker, then fetch a fresh first round."""
    client().discover_reset()
    st.session_state.pop("discover", None)
    for key in [k for k in st.session_state if str(k).startswith("like:")]:
        del st.session_state[key]


def top_genres_line(top: list[dict[str, Any]]) -> str:
    """``"Drama (3) · Comedy (2)"`` from the worker's ``top_genres`` (at most five)."""
    return " · ".join(f"{g['genre']} ({int(g['count'])})" for g in top[:TOP_GENRES])


def render(me: dict[str, Any]) -> None:
    """Draw the explanation, the top genres, five movies and the two buttons."""
    st.subheader("Discover movies you like")
    st.markdown(EXPLAIN)
    state = current()
    top = state.get("top_genres") or []
    liked = state.get("liked") or []
    if top:
        st.markdown(f"**Your top genres so far:** {top_genres_line(top)}")
    else:
        st.caption("Tick a few movies and your top genres show up here.")
    st.caption(
        f"Round {_round(state)} · {len(liked)} movie{'s' if len(liked) != 1 else ''} ticked so far."
    )
    items = state.get("items") or []
    if not items:
        st.info("You have seen every movie we could suggest here. Start over to go again.")
    for item in items:
        _card(state, item, liked)
    left, right = st.columns(2)
    with left:
        st.button(
            "Next 5",
            key="discover_next",
            type="primary",
            on_click=_next_five,
            disabled=not items,
            width="stretch",
        )
    with right:
        st.button("Start over", key="discover_reset", on_click=_start_over, width="stretch")


def _card(state: dict[str, Any], item: dict[str, Any], liked: list[int]) -> None:
    """One ``{"movie", "similarity"}`` as a row: poster left; title, overview, tick box and
    stars right."""
    movie, similarity = item["movie"], item.get("similarity")
    badge = (
        f"{round(100 * max(0.0, min(1.0, float(similarity))))}% your taste"
        if similarity is not None and liked
        else None
    )
    with st.container(border=True):
        left, right = st.columns([1, 3], gap="medium")
        with left:
            st.markdown(poster_html(movie, badge), unsafe_allow_html=True)
        with right:
            genres = html.escape(" · ".join(movie.get("genres") or []))
            st.markdown(
                f'<div class="mr-title">{html.escape(movie_title(movie))}</div>'
                f'<div class="mr-genres">{genres}</div>',
                unsafe_allow_html=True,
            )
            if movie.get("tagline"):
                st.markdown(f"*{plain(movie['tagline'])}*")
            st.write(movie.get("overview") or "No overview available for this movie.")
            key = _tick_key(state, int(movie["id"]))
            if key not in st.session_state:
                st.session_state[key] = int(movie["id"]) in liked
            st.checkbox("I like this", key=key)
            rating_control(movie, key="discover", on_rate=save_rating, rating=known_rating(movie))
