"""Recommendations: 24 cards per page with match %, predicted stars and a one-line reason."""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from app.client import ApiError
from app.components import card_grid, movie_card
from app.config import PAGE_SIZE
from app.session import (
    VIEW_RATE,
    client,
    go_to,
    known_rating,
    ratings_version,
    remember,
    safe_callback,
    save_rating,
)


def _fetch(pages: int) -> dict[str, Any]:
    """Pages 1..``pages`` of recommendations joined into one list."""
    items: list[dict[str, Any]] = []
    answer: dict[str, Any] = {}
    for page in range(1, pages + 1):
        answer = client().recommendations(page=page, page_size=PAGE_SIZE)
        items.extend(answer["items"])
        if not answer.get("next_page"):
            break
    return {"items": items, "next_page": answer.get("next_page"),
            "total": answer.get("total", len(items)), "model": answer.get("model"),
            "pages": pages}


@safe_callback
def _show_more() -> None:
    """Button callback: load the next 24 recommendations under the current ones."""
    slot = st.session_state.get("cache:recs")
    if not slot or not slot[1].get("next_page"):
        return
    key, recs = slot
    answer = client().recommendations(page=recs["next_page"], page_size=PAGE_SIZE)
    seen = {item["movie"]["id"] for item in recs["items"]}
    recs["items"].extend(i for i in answer["items"] if i["movie"]["id"] not in seen)
    recs["next_page"] = answer.get("next_page")
    recs["pages"] += 1
    st.session_state["recs_pages"] = recs["pages"]


def _draw(item: dict[str, Any]) -> None:
    movie = item["movie"]
    predicted = item.get("predicted_rating")
    stars = f"Predicted {predicted:.1f}★ for you" if predicted is not None else ""
    reason = html.escape(str(item.get("reason") or ""))
    extra = f'<div class="mr-stars">{stars}</div><div class="mr-reason">{reason}</div>'
    movie_card(movie, key="recs", on_rate=save_rating, rating=known_rating(movie),
               badge=f"{int(round(item.get('match', 0)))}% match", extra_html=extra)


def render(me: dict[str, Any]) -> None:
    """Draw the recommendations, or what is still needed to get them."""
    st.subheader("Recommended for you")
    needed = int(me.get("ratings_needed", 0))
    if needed > 0:
        st.info(f"Rate {needed} more movie{'s' if needed != 1 else ''} to see your "
                "recommendations.")
        st.button("Rate movies", key="recs_go_rate", type="primary", on_click=go_to,
                  args=(VIEW_RATE,))
        return
    pages = int(st.session_state.get("recs_pages", 1))
    try:
        recs = remember("recs", ratings_version(), lambda: _fetch(pages))
    except ApiError as err:
        if err.code != "not_enough_ratings":
            raise
        st.info(err.message)
        st.button("Rate movies", key="recs_go_rate", type="primary", on_click=go_to,
                  args=(VIEW_RATE,))
        return
    if not recs["items"]:
        st.info("You have rated everything we could recommend. Impressive!")
        return
    st.caption("Rate a movie you have already seen and the list updates. "
               "Match = how likely you are to give it 4★ or more.")
    card_grid(recs["items"], _draw)
    st.caption(f"Showing {len(recs['items'])} of {recs['total']} recommendations.")
    if recs.get("next_page"):
        st.button("Show more recommendations", key="recs_more", on_click=_show_more,
                  width="stretch")
