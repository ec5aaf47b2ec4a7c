"""Rate movies: 24 cards at a time from the chosen genres, a title search and "show more".

A newcomer's grid (order ``onboarding``) adapts as they rate: after each rating the app asks
the worker for the grid again (same length, ``shown`` = its length), keeps every card up to
the last one the person rated (or cleared) where it is, and shows the worker's new choices
after it (:class:`recommender.onboarding.GridWalk`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.components import card_grid, movie_card
from app.config import PAGE_SIZE
from app.session import (
    client,
    known_rating,
    open_details,
    ratings_version,
    remember,
    safe_callback,
    save_rating,
)


def _query() -> str:
    return str(st.session_state.get("grid_query") or "").strip()


def _first_page(query: str) -> dict[str, Any]:
    page = client().movies(query=query, page=1, page_size=PAGE_SIZE)
    return {
        "items": list(page["items"]),
        "next_page": page.get("next_page"),
        "total": page.get("total", len(page["items"])),
        "order": page.get("order"),
        "version": ratings_version(),
    }


def _adapts(grid: dict[str, Any], query: str) -> bool:
    return not query and grid.get("order") == "onboarding"


def _refill(grid: dict[str, Any]) -> None:
    """After a rating: keep the cards up to the last one rated (or cleared) in this session,
    and fill the rest of the grid's length with the worker's adapted order."""
    items = grid["items"]
    touched = st.session_state.get("ratings", {})
    last = max(
        (i for i, m in enumerate(items) if int(m["id"]) in touched or m.get("my_rating")),
        default=-1,
    )
    kept = items[: last + 1]
    seen = {m["id"] for m in kept}
    fresh: list[dict[str, Any]] = []
    for number in range(1, -(-len(items) // PAGE_SIZE) + 1):
        page = client().movies(
            page=number, page_size=PAGE_SIZE, order="onboarding", shown=len(items)
        )
        fresh.extend(m for m in page["items"] if m["id"] not in seen)
        grid["next_page"] = page.get("next_page")
    grid["items"] = kept + fresh[: len(items) - len(kept)]
    grid["version"] = ratings_version()


@safe_callback
def _show_more() -> None:
    """Button callback: append the next 24 movies to the grid."""
    slot = st.session_state.get("cache:grid")
    if not slot or not slot[1].get("next_page"):
        return
    key, grid = slot
    page = client().movies(
        query=key[0],
        page=grid["next_page"],
        page_size=PAGE_SIZE,
        order=grid.get("order"),
        shown=len(grid["items"]) if _adapts(grid, key[0]) else None,
    )
    seen = {m["id"] for m in grid["items"]}
    grid["items"].extend(m for m in page["items"] if m["id"] not in seen)
    grid["next_page"] = page.get("next_page")
    grid["total"] = page.get("total", grid["total"])


def render(me: dict[str, Any]) -> None:
    """Draw the search box, the grid of cards and the "show more" button."""
    st.subheader("Rate movies you have seen")
    st.text_input("Search by title", key="grid_query", placeholder="Search by title, e.g. Matrix")
    query = _query()
    genres = me.get("genres") or []
    grid = remember("grid", (query, tuple(genres)), lambda: _first_page(query))
    if _adapts(grid, query) and grid.get("version") != ratings_version():
        _refill(grid)
    if query:
        st.caption(f"{grid['total']} movies match “{query}”.")
    elif grid.get("order") == "onboarding":
        st.caption(
            "Well-known movies people disagree about"
            + (" in your genres: " + ", ".join(genres) if genres else "")
            + ". Rate five you have seen: they tell us most about your taste."
            + " After each rating, the movies below it follow what you rated."
        )
    elif genres:
        st.caption("Popular movies in your genres: " + ", ".join(genres) + ".")
    if not grid["items"]:
        st.info("No movies found. Try another title or fewer words.")
        return
    card_grid(
        grid["items"],
        lambda movie: movie_card(
            movie,
            key="rate",
            on_rate=save_rating,
            rating=known_rating(movie),
            on_details=open_details,
        ),
    )
    shown = len(grid["items"])
    st.caption(f"Showing {shown} of {grid['total']} movies.")
    if grid.get("next_page"):
        st.button("Show more movies", key="grid_more", on_click=_show_more, width="stretch")
