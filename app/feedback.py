"""Feedback beyond stars on a movie card: "Not interested" (with Undo) and "Want to watch".

- "Not interested" (``PUT /me/not-interested/{id}``) takes the movie out of every list at once
  (recommendations, similar movies, descriptions) and counts as a low rating for the models;
  the page then shows an Undo bar (:func:`undo_bar`) until the person undoes it, dismisses it
  or marks another movie. Undo (``DELETE``) puts the movie back.
- "Want to watch" toggles the movie on the watchlist (``PUT``/``DELETE /me/watchlist/{id}``);
  the Watchlist view lists them. Which movies are on it is read once per session (then kept
  in step by the toggles), so every card can show its state.

Both bump the session's list versions, so every list on screen is fetched again.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.components import movie_title, plain
from app.session import (
    client,
    close_details,
    forget,
    list_version,
    ratings_version,
    safe_callback,
)

WATCHLIST_IDS = "watchlist_ids"
"""Session key: the set of movie ids on the person's watchlist (read once, then kept)."""
HIDDEN = "hidden_last"
"""Session key: ``{"id", "title"}`` of the movie last marked not interested (for Undo)."""
WANT_LABEL, WATCHING_LABEL = "Want to watch", "✓ On watchlist"
HIDE_LABEL, UNDO_LABEL = "Not interested", "Undo"
#: Movies per request when reading the whole watchlist.
READ_PAGE = 100
NOTES = "feedback_notes"
"""Session key: messages of the last action, shown as toasts by the next draw (a callback of a
button in the details dialog may not draw: its run redraws only the dialog)."""


def _note(message: str) -> None:
    st.session_state.setdefault(NOTES, []).append(message)


def watchlist_ids() -> set[int]:
    """The movie ids on the person's watchlist (read from the worker once per session)."""
    found = st.session_state.get(WATCHLIST_IDS)
    if found is None:
        found, page = set(), 1
        while page:
            answer = client().watchlist(page=page, page_size=READ_PAGE)
            found |= {int(item["movie"]["id"]) for item in answer.get("items") or []}
            page = answer.get("next_page")
        st.session_state[WATCHLIST_IDS] = found
    return found


def _lists_changed() -> None:
    """Every list on screen is fetched again (the worker computed them anew)."""
    st.session_state["ratings_version"] = ratings_version() + 1
    st.session_state["list_version"] = list_version() + 1


@safe_callback
def hide(movie_id: int, title: str) -> None:
    """Button callback: mark the movie not interested; offer Undo."""
    client().not_interested(movie_id)
    st.session_state[HIDDEN] = {"id": int(movie_id), "title": title}
    if st.session_state.get("details") == int(movie_id):
        close_details()
    _lists_changed()


@safe_callback
def undo_hide() -> None:
    """Button callback: undo the last "Not interested"."""
    last = st.session_state.pop(HIDDEN, None)
    if not last:
        return
    client().interested_again(int(last["id"]))
    _lists_changed()
    _note(f"{last['title']} is back in your lists")


def dismiss_undo() -> None:
    st.session_state.pop(HIDDEN, None)


@safe_callback
def toggle_watchlist(movie_id: int, title: str) -> None:
    """Button callback: add the movie to the watchlist, or take it off."""
    ids = watchlist_ids()
    if int(movie_id) in ids:
        client().unwatch(movie_id)
        ids.discard(int(movie_id))
        _note(f"Removed {title} from your watchlist")
    else:
        client().want_to_watch(movie_id)
        ids.add(int(movie_id))
        _note(f"Added {title} to your watchlist")
    forget("watchlist")


def card_actions(
    movie: dict[str, Any], *, key: str, hide_button: bool = True, hints: bool = True
) -> None:
    """The "Want to watch" toggle and (unless ``hide_button`` is False) the "Not interested"
    button of one card; ``key`` is the card's widget prefix. ``hints``: a tooltip on each
    button. Streamlit (1.67) draws a button with a tooltip twice, so the rows (~80 cards) go
    without: their page has 4,390 elements instead of 6,070 (2,724 without the buttons)."""
    movie_id, title = int(movie["id"]), movie_title(movie)
    watching = movie_id in watchlist_ids()
    watch_hint = "Take it off your watchlist" if watching else "Add it to your watchlist"
    hide_hint = "Never show this movie again (counts as a low rating); you can undo it"
    st.button(
        WATCHING_LABEL if watching else WANT_LABEL,
        key=f"{key}:watch:{movie_id}",
        on_click=toggle_watchlist,
        args=(movie_id, title),
        help=watch_hint if hints else None,
        width="stretch",
    )
    if hide_button:
        st.button(
            HIDE_LABEL,
            key=f"{key}:hide:{movie_id}",
            on_click=hide,
            args=(movie_id, title),
            help=hide_hint if hints else None,
            width="stretch",
        )


def undo_bar(key: str = "page") -> None:
    """The bar after a "Not interested": which movie left the lists, with Undo and ✕ on the
    same line (on a phone too); and the toasts of the last action. Drawn by the page (held at
    the bottom of the window, so it shows wherever the card was: ``.st-key-undo_bar_page`` in
    :mod:`app.components`) and at the top of the details dialog (``key="details"``)."""
    for message in st.session_state.pop(NOTES, []):
        st.toast(message)
    last = st.session_state.get(HIDDEN)
    if not last:
        return
    with st.container(
        border=True, horizontal=True, vertical_alignment="center", key=f"undo_bar_{key}"
    ):
        st.markdown(
            f"**{plain(last['title'])}** will not be recommended to you again.", width="stretch"
        )
        st.button(UNDO_LABEL, key=f"undo_hide_{key}", on_click=undo_hide, type="primary")
        st.button("✕", key=f"undo_close_{key}", on_click=dismiss_undo, help="Dismiss")
