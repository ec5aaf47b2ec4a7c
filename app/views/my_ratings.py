"""My ratings: everything the user rated, newest first, 24 per page, editable and removable.

The order is fetched again only when a rating is added or removed: editing one changes its
stars in place (from the session's overlay), so the card does not jump to the front.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from app.components import card_grid, movie_card, newer_older
from app.config import PAGE_SIZE
from app.session import (
    client,
    known_rating,
    list_version,
    note_click,
    open_details,
    ratings_version,
    remember,
    safe_callback,
    save_rating,
)


@safe_callback
def _remove(movie_id: int, title: str) -> None:
    """Button callback: delete the rating and refresh the list."""
    client().unrate(movie_id)
    st.session_state.setdefault("ratings", {})[movie_id] = None
    st.session_state["ratings_version"] = ratings_version() + 1
    st.session_state["list_version"] = list_version() + 1
    st.toast(f"Removed your rating of {title}")


def _turn(delta: int) -> None:
    note_click("turn")
    st.session_state["mine_page"] = max(1, int(st.session_state.get("mine_page", 1)) + delta)


def _draw(item: dict[str, Any]) -> None:
    movie = {**item["movie"], "my_rating": item.get("rating")}
    movie_card(
        movie, key="mine", on_rate=save_rating, rating=known_rating(movie), on_details=open_details
    )
    when = str(item.get("rated_at") or "")[:10]
    if when:
        st.caption(f"Rated on {when}")
    st.button(
        "Remove",
        key=f"remove:{movie['id']}",
        on_click=_remove,
        args=(int(movie["id"]), str(movie.get("title"))),
    )


def render(me: dict[str, Any]) -> None:
    """Draw one page of the user's ratings with page buttons."""
    st.subheader("My ratings")
    page = int(st.session_state.get("mine_page", 1))
    answer = remember(
        "mine",
        (page, list_version()),  # an edit keeps the order on screen
        lambda: client().my_ratings(page=page, page_size=PAGE_SIZE),
    )
    total = int(answer.get("total", 0))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:  # the last item of the last page was removed
        st.session_state["mine_page"] = pages
        st.rerun()
    if total == 0:
        st.info("You have not rated any movies yet.")
        return
    st.caption(f"{total} rated movies, newest first. Page {page} of {pages}.")
    card_grid(answer["items"], _draw)
    newer_older("mine", page, bool(answer.get("next_page")), _turn)
