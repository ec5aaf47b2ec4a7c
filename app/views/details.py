"""Movie details: a dialog opened by any card's "More like this" button.

It shows the movie's poster, tagline, genres and overview, the person's rating control, and the
12 most similar movies (``GET /movies/{id}/similar``) as cards with the similarity as a
percentage. "More like this" on a similar movie moves the dialog to that movie. The movie and
each similar one have "Want to watch" and "Not interested" (:mod:`app.feedback`); a movie marked
not interested leaves the similar movies at once, with Undo in the dialog.
"""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from app.client import ApiError
from app.components import (
    card_grid,
    movie_card,
    movie_title,
    plain,
    poster_html,
    rating_control,
    sentence,
)
from app.feedback import card_actions, undo_bar
from app.session import (
    apply_rating_changes,
    client,
    close_details,
    known_rating,
    open_details,
    ratings_version,
    remember,
    save_rating,
)

#: Similar movies shown under the details.
SIMILAR_K = 12

SOURCES = {
    "embed": "Similarity of the movies' learned embeddings (from everyone's ratings).",
    "sbert": "Similarity of the movies' plot descriptions (sentence embeddings).",
}


def similarity_badge(similarity: float | None) -> str:
    """``"83% similar"`` for a cosine similarity 0.83 (clamped to 0..100 %)."""
    share = max(0.0, min(1.0, float(similarity or 0.0)))
    return f"{round(share * 100)}% similar"


def render() -> None:
    """Draw the details dialog when one is open (``st.session_state["details"]``)."""
    movie_id = st.session_state.get("details")
    if movie_id is None:
        return
    dialog = st.dialog("Movie details", width="large", on_dismiss=close_details)
    dialog(_body)(int(movie_id))


def _body(movie_id: int) -> None:
    apply_rating_changes()  # a star clicked in the dialog reruns only the dialog
    # A button inside the dialog reruns only the dialog. When it closed the dialog or moved it
    # to another movie ("More like this" on a similar one), rerun the whole page so the dialog
    # closes or opens on that movie.
    if st.session_state.get("details") != movie_id:
        st.rerun()
    try:
        movie = remember("details", (movie_id, ratings_version()), lambda: client().movie(movie_id))
    except ApiError as err:
        if err.status == 401:
            raise
        st.error(err.message)
        st.button("Close", key="details_close", on_click=close_details)
        return
    undo_bar("details")
    _about(movie)
    why = st.session_state.get("details_why")
    if why and int(why["movie"]["id"]) == movie_id:
        st.markdown("#### Why it is on your list")
        why_section(why)
    st.markdown("#### Similar movies")
    try:
        similar = remember(
            "similar",  # a movie marked not interested leaves the list: fetch it again
            (movie_id, ratings_version()),
            lambda: client().similar(movie_id, SIMILAR_K),
        )
    except ApiError as err:
        if err.status == 401:
            raise
        st.info("Similar movies are not available right now.")
        return
    items = similar.get("items") or []
    if not items:
        st.info("No similar movies found for this one.")
        return
    st.caption(SOURCES.get(str(similar.get("source")), "Most similar first."))
    card_grid(items, _similar_card, columns=6)


def _about(movie: dict[str, Any]) -> None:
    """Poster left; title, tagline, genres, overview, the rating control and Close right."""
    left, right = st.columns([1, 3], gap="medium")
    with left:
        st.markdown(poster_html(movie), unsafe_allow_html=True)
    with right:
        st.markdown(
            f'<div class="mr-title mr-dialog-title">{html.escape(movie_title(movie))}</div>',
            unsafe_allow_html=True,
        )
        if movie.get("tagline"):
            st.markdown(f"*{plain(movie['tagline'])}*")
        st.caption(" · ".join(movie.get("genres") or []) or "No genres listed")
        st.write(movie.get("overview") or "No overview available for this movie.")
        st.markdown("**Your rating**")
        rating_control(movie, key="details", on_rate=save_rating, rating=known_rating(movie))
        card_actions(movie, key="details")
        st.button("Close", key="details_close", on_click=close_details)


#: Plain words for each source of a recommendation (the blend's components).
SOURCE_WORDS = {
    "pearson": "people with your taste",
    "coliked": "fans of movies you loved",
    "content": "movies like ones you loved (its story)",
    "neural": "the pattern of your ratings",
    "following": "what people who started like you went on to love",
    "era": "popular with people who rate what you rate, when they rate it",
    "ease": "movies liked together with yours",
    "popularity": "liked by many people",
}


def contribution_bars(components: dict[str, float]) -> str:
    """HTML of a small bar chart: one bar per source, longest = largest contribution, each
    labelled with its share of all the sources' contributions (the shares add up to 100 %).

    Input: ``{component: contribution}`` (the blend's ``evidence["components"]``: percentage
    points of its ranking score, not of the match, so only the shares are shown); sources
    that added nothing are left out. Output: HTML.
    """
    shown = sorted(
        ((float(v), k) for k, v in components.items() if v is not None and float(v) > 0.05),
        reverse=True,
    )
    if not shown:
        return ""
    top = shown[0][0]
    total = sum(value for value, _ in shown)
    rows = []
    for value, name in shown:
        words = html.escape(SOURCE_WORDS.get(name, "other signals"))
        width = max(4, round(100 * value / top))
        rows.append(
            f'<div class="mr-why-row"><div class="mr-why-label">{words}</div>'
            f'<div class="mr-why-track"><div class="mr-why-bar" style="width:{width}%"></div>'
            f'</div><div class="mr-why-value">{round(100 * value / total)}%</div></div>'
        )
    return '<div class="mr-why">' + "".join(rows) + "</div>"


def why_section(item: dict[str, Any]) -> None:
    """The match and predicted stars in one sentence, the bar chart of what each source
    weighed (shares of 100 %), and every reason."""
    match, predicted = item.get("match"), item.get("predicted_rating")
    if match is not None and predicted is not None:
        st.markdown(
            f"**{int(round(match))}% match**: a {int(round(match))}% chance you will rate it "
            f"4★ or more; we expect about **{float(predicted):.1f}★**."
        )
    components = (item.get("evidence") or {}).get("components") or {}
    bars = contribution_bars(components)
    if bars:
        st.caption("What put it on your list, and how much each part weighed:")
        st.markdown(bars, unsafe_allow_html=True)
    reasons = [str(r) for r in item.get("reasons") or [] if r]
    if reasons:
        st.markdown("\n".join(f"- {plain(sentence(reason))}" for reason in reasons))


def _similar_card(item: dict[str, Any]) -> None:
    movie = item["movie"]
    movie_card(
        movie,
        key="similar",
        on_rate=save_rating,
        rating=known_rating(movie),
        badge=similarity_badge(item.get("similarity")),
        on_details=open_details,
        actions=lambda: card_actions(movie, key="similar"),
    )
