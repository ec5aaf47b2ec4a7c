"""Watchlist: the movies the person wants to watch, the one added last first, 24 per page,
each with its rating control, "More like this" and "Remove"."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from app.components import card_grid, movie_card, movie_title, newer_older
from app.config import PAGE_SIZE
from app.feedback import toggle_watchlist, watchlist_ids
from app.session import (
    VIEW_RECS,
    client,
    go_to,
    known_rating,
    note_click,
    open_details,
    remember,
    save_rating,
)


def _turn(delta: int) -> None:
    note_click("turn")
    st.session_state["watch_page"] = max(1, int(st.session_state.get("watch_page", 1)) + delta)


def _draw(item: dict[str, Any]) -> None:
    movie = item["movie"]
    movie_card(
        movie,
        key="watch",
        on_rate=save_rating,
        rating=known_rating(movie),
        on_details=open_details,
    )
    when = str(item.get("added_at") or "")[:10]
    if when:
        st.caption(f"Added on {when}")
    st.button(
        "Remove from watchlist",
        key=f"watch:remove:{movie['id']}",
        on_click=toggle_watchlist,
        args=(int(movie["id"]), movie_title(movie)),
        width="stretch",
    )


def render(me: dict[str, Any]) -> None:
    """Draw one page of the watchlist with page buttons."""
    st.subheader("My watchlist")
    page = int(st.session_state.get("watch_page", 1))
    on_list = frozenset(watchlist_ids())  # a toggle anywhere refetches the page
    answer = remember(
        "watchlist", (page, on_list), lambda: client().watchlist(page=page, page_size=PAGE_SIZE)
    )
    total = int(answer.get("total", 0))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:  # the last movie of the last page was removed
        st.session_state["watch_page"] = pages
        st.rerun()
    if total == 0:
        st.info("Your watchlist is empty. Press “Want to watch” on any movie card to keep it here.")
        st.button("See my recommendations", key="watch_go_recs", on_click=go_to, args=(VIEW_RECS,))
        return
    movies = "movie" if total == 1 else "movies"
    st.caption(f"{total} {movies} you want to watch, added last first. Page {page} of {pages}.")
    card_grid(answer["items"], _draw)
    newer_older("watch", page, bool(answer.get("next_page")), _turn)
