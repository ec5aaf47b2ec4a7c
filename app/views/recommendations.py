"""Recommendations: 24 cards per page with match %, predicted stars, a one-line reason and a
"Why?" list; or, with a description typed in the box, the movies matching it.

Filters (genres, title, release years) narrow either list to the matching movies, ranked for
the person by the worker (``GET /me/recommendations?genres=&q=&year_from=&year_to=``). They are
kept in the session (``recs_filters``), so "Show more", a rating, another view and back all
keep them. Every card has "Want to watch" and "Not interested" (:mod:`app.feedback`)."""

from __future__ import annotations

import datetime
import html
from typing import Any

import streamlit as st

from api import rules
from app.client import ApiError
from app.components import card_grid, movie_card, sentence
from app.config import PAGE_SIZE, RATINGS_NEEDED
from app.feedback import card_actions
from app.session import (
    VIEW_RATE,
    client,
    go_to,
    known_rating,
    open_details,
    ratings_version,
    remember,
    safe_callback,
    save_rating,
)
from app.views import serving

DESCRIBE_LABEL = "Describe what you feel like watching"
DESCRIBE_HINT = "e.g. a slow-burn space mystery"
#: Longest description sent to the worker (characters).
DESCRIBE_MAX = rules.QUERY_MAX
#: What the list's order is (the worker sorts each dozen so: best match, then predicted stars;
#: ``recommender.rerank.BLOCK_SIZE``), and what the match means for each model (``docs/api.md``).
ORDER_NOTE = (
    "Best match first within each dozen. Match = {meaning} (equal matches: the higher expected "
    "rating first). Each dozen leaves room for movies you may not know yet; towards Discover, "
    "more of them, from your genres. "
    "Rate a movie you have seen and the list updates."
)
MATCH_MEANING = {
    "pearson": "the share of the people with your taste who gave it 4★ or more",
}
MATCH_MEANING_DEFAULT = "how likely you are to give it 4★ or more once you watch it"
DISCOVER_LABEL = "Familiar ↔ Discover"
DISCOVER_HELP = (
    "Familiar: the movies most people with your taste loved, blockbusters included. "
    "Discover: fewer of the most-watched movies, more lesser-known ones in your genres."
)
#: The control's stops and the ``discover`` setting each sends (``None``: the worker's default).
DISCOVER_STOPS: dict[str, float | None] = {
    "Familiar": 0.0,
    "More familiar": 0.25,
    "Balanced": None,
    "More discovery": 0.75,
    "Discover": 1.0,
}
DISCOVER_START = "Balanced"


FIRST_YEAR = 1900
"""Left end of the release-year slider (at both ends the slider filters nothing)."""
FILTERS = "recs_filters"
"""Session key of the chosen filters: ``{"genres": [...], "q": str, "years": (from, to)}``."""


def _last_year() -> int:
    return datetime.date.today().year


def _query() -> str:
    return str(st.session_state.get("recs_query") or "").strip()


def _filters() -> dict[str, Any]:
    """The filters to send (:meth:`app.client.WorkerClient.recommendations`); ``{}`` for none.
    A year range at the slider's ends is no year filter."""
    chosen = st.session_state.get(FILTERS) or {}
    out: dict[str, Any] = {}
    if chosen.get("genres"):
        out["genres"] = list(chosen["genres"])
    if str(chosen.get("q") or "").strip():
        out["q"] = str(chosen["q"]).strip()
    low, high = chosen.get("years") or (FIRST_YEAR, _last_year())
    if low > FIRST_YEAR:
        out["year_from"] = int(low)
    if high < _last_year():
        out["year_to"] = int(high)
    return out


def _filter_key(filters: dict[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in filters.items()))


def _slot(query: str, filters: dict[str, Any] | None = None) -> str:
    """Cache slot of a list: the normal recommendations, or a description's matches or a
    filtered list."""
    return "recs:query" if query or filters else "recs"


def _discover() -> float | None:
    """The ``discover`` setting of the familiar ↔ discover control."""
    return DISCOVER_STOPS[st.session_state.get("recs_discover", DISCOVER_START)]


def _fetch(pages: int, query: str = "", filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Pages 1..``pages`` of recommendations (or matches of ``query``, within ``filters``)
    joined into one list; the familiar ↔ discover control orders the whole list only."""
    items: list[dict[str, Any]] = []
    answer: dict[str, Any] = {}
    discover = None if query or filters else _discover()
    for page in range(1, pages + 1):
        answer = client().recommendations(
            page=page, page_size=PAGE_SIZE, query=query, filters=filters, discover=discover
        )
        items.extend(answer["items"])
        if not answer.get("next_page"):
            break
    return {
        "items": items,
        "next_page": answer.get("next_page"),
        "total": answer.get("total", len(items)),
        "model": answer.get("model"),
        "pages": pages,
        "query": query,
        "filters": filters or {},
        "ranked_by": answer.get("ranked_by"),
    }


@safe_callback
def _show_more() -> None:
    """Button callback: load the next 24 items under the current ones."""
    query, filters = _query(), _filters()
    slot = st.session_state.get(f"cache:{_slot(query, filters)}")
    if not slot or not slot[1].get("next_page"):
        return
    key, recs = slot
    answer = client().recommendations(
        page=recs["next_page"],
        page_size=PAGE_SIZE,
        query=recs.get("query", ""),
        filters=recs.get("filters"),
        discover=None if query or recs.get("filters") else _discover(),
    )
    seen = {item["movie"]["id"] for item in recs["items"]}
    recs["items"].extend(i for i in answer["items"] if i["movie"]["id"] not in seen)
    recs["next_page"] = answer.get("next_page")
    recs["pages"] += 1
    if not query and not filters:
        st.session_state["recs_pages"] = recs["pages"]


def _reset_pages() -> None:
    """A new familiar ↔ discover setting starts again from the first page."""
    st.session_state["recs_pages"] = 1


def _clear_query() -> None:
    st.session_state["recs_query"] = ""


def _save_filters() -> None:
    """Widget callback: keep the filter widgets' values in the session (widgets forget theirs
    when another view is shown)."""
    st.session_state[FILTERS] = {
        "genres": list(st.session_state.get("recs_genres") or []),
        "q": str(st.session_state.get("recs_title") or ""),
        "years": tuple(st.session_state.get("recs_years") or (FIRST_YEAR, _last_year())),
    }


def _clear_filters() -> None:
    st.session_state.pop(FILTERS, None)
    for key in ("recs_genres", "recs_title", "recs_years"):
        st.session_state.pop(key, None)


def _filter_widgets() -> None:
    """Genre multiselect, title search and release-year range, drawn from the saved filters."""
    chosen = st.session_state.get(FILTERS) or {}
    genres = remember("all_genres", 0, lambda: client().genres())
    active = bool(_filters())
    with st.expander("Filter: genres, title, years" + (" (on)" if active else ""), expanded=active):
        left, middle, right = st.columns([2, 2, 2])
        with left:
            st.multiselect(
                "Genres (any of them)",
                options=genres,
                default=[g for g in chosen.get("genres") or [] if g in genres],
                key="recs_genres",
                on_change=_save_filters,
                placeholder="All genres",
            )
        with middle:
            st.text_input(
                "Title contains",
                value=chosen.get("q", ""),
                key="recs_title",
                on_change=_save_filters,
                max_chars=rules.QUERY_MAX,
                placeholder="e.g. star",
            )
        with right:
            st.slider(
                "Released",
                min_value=FIRST_YEAR,
                max_value=_last_year(),
                value=tuple(chosen.get("years") or (FIRST_YEAR, _last_year())),
                key="recs_years",
                on_change=_save_filters,
            )
        if active:
            st.button("Clear filters", key="recs_clear_filters", on_click=_clear_filters)


def _draw(item: dict[str, Any]) -> None:
    """One recommendation: poster with the match badge, title, genres, one short reason;
    "More like this" opens the details with the whole "Why?"."""
    movie = item["movie"]
    reason = html.escape(sentence(item.get("reason")))
    match = item.get("match")
    badge = f"{int(round(match))}% match" if match is not None else None
    movie_card(
        movie,
        key="recs",
        on_rate=save_rating,
        rating=known_rating(movie),
        badge=badge,
        extra_html=f'<div class="mr-reason">{reason}</div>',
        on_details=lambda movie_id: open_details(movie_id, why=item),
        actions=lambda: card_actions(movie, key="recs"),
    )


def _locked(message: str) -> None:
    st.info(message)
    st.button("Rate movies", key="recs_go_rate", type="primary", on_click=go_to, args=(VIEW_RATE,))


def render(me: dict[str, Any]) -> None:
    """Draw the description box, then its matches, or the recommendations, or what is still
    needed to get them."""
    st.subheader("Recommended for you")
    st.text_input(
        DESCRIBE_LABEL, key="recs_query", placeholder=DESCRIBE_HINT, max_chars=DESCRIBE_MAX
    )
    _filter_widgets()
    query, filters = _query(), _filters()
    if query:
        _matches(query, filters)
        return
    needed = int(me.get("ratings_needed", 0))
    last = st.session_state.get("cache:recs")
    if needed > 0 and last and last[1]["items"]:
        # Fewer than five ratings again (one was removed): keep the last list, say why it
        # does not change.
        st.warning(
            f"Recommendations need {RATINGS_NEEDED} ratings and you have "
            f"{RATINGS_NEEDED - needed} now, so this is your last list. Rate {needed} more "
            f"movie{'s' if needed != 1 else ''} and it updates again."
        )
        _grid(last[1], "recommendations", more=False)
        return
    if needed > 0:
        # the filters narrow a description's matches before five ratings, not the locked list
        _locked(
            f"Rate {needed} more movie{'s' if needed != 1 else ''} to see your "
            "recommendations — or describe what you feel like watching above"
            + (" (your filters apply to it)." if filters else ".")
        )
        return
    if filters:
        _within(filters)
        return
    st.select_slider(
        DISCOVER_LABEL,
        options=list(DISCOVER_STOPS),
        value=DISCOVER_START,
        key="recs_discover",
        help=DISCOVER_HELP,
        on_change=_reset_pages,
    )
    pages = int(st.session_state.get("recs_pages", 1))
    status = serving.fetch()
    serving.render(status)
    # a model swapped in by the worker (the build finished) gives a new list
    served = (status or {}).get("model_version")
    try:
        recs = remember("recs", (ratings_version(), served, _discover()), lambda: _fetch(pages))
    except ApiError as err:
        if err.code != "not_enough_ratings":
            raise
        _locked(err.message)
        return
    if not recs["items"]:
        st.info("You have rated everything we could recommend. Impressive!")
        return
    meaning = MATCH_MEANING.get(str(recs.get("model")), MATCH_MEANING_DEFAULT)
    st.caption(ORDER_NOTE.format(meaning=meaning))
    _grid(recs, "recommendations")


def _within(filters: dict[str, Any]) -> None:
    """Recommendations among the movies matching ``filters``, with the same cards."""
    key = ("filters", _filter_key(filters), ratings_version())
    try:
        recs = remember("recs:query", key, lambda: _fetch(1, "", filters))
    except ApiError as err:
        if err.status == 401 or err.code == "not_enough_ratings":
            raise
        st.warning(f"Those filters did not work: {err.message}")
        return
    if not recs["items"]:
        st.info("None of the movies matching these filters is left to recommend. Widen them.")
        return
    meaning = MATCH_MEANING.get(str(recs.get("model")), MATCH_MEANING_DEFAULT)
    st.caption("Only movies matching your filters. " + ORDER_NOTE.format(meaning=meaning))
    _grid(recs, "recommendations")


def _matches(query: str, filters: dict[str, Any] | None = None) -> None:
    """The movies matching the description (and the filters), ranked, with the same cards."""
    key = (query, _filter_key(filters or {}), ratings_version())
    try:
        recs = remember("recs:query", key, lambda: _fetch(1, query, filters))
    except ApiError as err:
        if err.status == 401:
            raise
        st.warning(f"That description did not work: {err.message}")
        recs = None
    if recs is not None and not recs["items"]:
        st.info("No movies match that description. Try other words.")
    elif recs is not None:
        order = (
            "best fit for the description first, then your taste"
            if recs.get("ranked_by") == "model"
            else "best fit for the description first"
        )
        st.caption(
            f"Movies matching “{query}”, {order}. Clear the box to go back to your recommendations."
        )
        _grid(recs, "matches")
    st.button("Clear the description", key="recs_clear", on_click=_clear_query)


def _grid(recs: dict[str, Any], what: str, more: bool = True) -> None:
    card_grid(recs["items"], _draw)
    st.caption(f"Showing {len(recs['items'])} of {recs['total']} {what}.")
    if more and recs.get("next_page"):
        st.button(f"Show more {what}", key="recs_more", on_click=_show_more, width="stretch")
