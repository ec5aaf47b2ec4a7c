"""For you: the home view once a person has five ratings — rows of recommendations, each a
strip of cards that scrolls sideways (``GET /me/rows``): "Top picks for you", "Because you liked
<movie>", "<Genre> for you", "Something different"; each row's reason under its title.

A card shows the poster with the match badge, the title and the movie's own reason; a click on
them opens the same details dialog as every other card (the movie, why it is there, the rating
control, similar movies). Under them, the same "Want to watch" and "Not interested" as every
recommendation card (:func:`app.feedback.card_actions`): a movie marked not interested leaves
every row at once (the rows are fetched again) and the page's Undo bar brings it back.
"See all" opens the paged recommendations (shown once there are rows to see).
On a phone each strip scrolls sideways inside the page; the page itself never does.
"""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from app.client import ApiError
from app.components import card_buttons, card_html, movie_title, plain, sentence
from app.config import RATINGS_NEEDED
from app.feedback import card_actions
from app.session import (
    VIEW_RATE,
    VIEW_RECS,
    client,
    go_to,
    open_details,
    ratings_version,
    remember,
)

#: Styles of the strips (added once per run by :func:`render`): a strip is a row of
#: fixed-width cards that scrolls sideways; a card's picture and text are covered by a button
#: (``rowopen_``), so a click anywhere on them opens its details; its feedback buttons follow.
_CSS = """
<style>
[class*="st-key-strip_"] {flex-wrap: nowrap !important; overflow-x: auto; overflow-y: hidden;
  scroll-snap-type: x proximity; padding-bottom: .5rem; min-width: 0; max-width: 100%;}
[class*="st-key-rowcard_"] {flex: 0 0 auto !important; scroll-snap-align: start;}
[class*="st-key-rowopen_"] {position: relative;}
[class*="st-key-rowopen_"] [data-testid="stElementContainer"]:has(button) {position: absolute;
  inset: 0; z-index: 2; margin: 0; width: 100% !important;}
[class*="st-key-rowopen_"] [data-testid="stElementContainer"]:has(button) * {
  width: 100% !important; height: 100% !important;}
[class*="st-key-rowopen_"] button {opacity: 0; cursor: pointer; min-height: 0; padding: 0;}
[class*="st-key-rowopen_"]:has(button:focus-visible) .mr-poster {outline: 3px solid #0e7a46;
  outline-offset: -3px;}
/* Only where there is a pointer: on a phone a tapped card would keep the outline. */
@media (hover: hover) {[class*="st-key-rowopen_"]:hover .mr-poster {
  outline: 3px solid #0e7a46; outline-offset: -3px;}}
.mr-strip-card {padding-bottom: 1rem;}
.mr-row-reason {font-size: .85rem; opacity: .75; margin: -.6rem 0 .2rem;}
/* Cards in a strip stay upright on a phone (elsewhere they turn into a compact line). */
@media (max-width: 640px) {
  .mr-strip-card .mr-card {display: block;}
  .mr-strip-card .mr-card .mr-poster {width: 100%;}
  .mr-strip-card .mr-card-body .mr-title {margin-top: .4rem; height: 2.4em;}
  .mr-strip-card .mr-card-body .mr-reason {height: 2.5em;}
}
</style>
"""

#: Width of a card in a strip, in pixels (about six on a laptop, two and a half on a phone).
CARD_WIDTH = 150


def _locked(message: str) -> None:
    st.info(message)
    st.button("Rate movies", key="home_go_rate", type="primary", on_click=go_to, args=(VIEW_RATE,))


def render(me: dict[str, Any]) -> None:
    """Draw the rows, or what is still needed to get them."""
    st.markdown(_CSS, unsafe_allow_html=True)
    needed = int(me.get("ratings_needed", 0))
    with st.container(horizontal=True, vertical_alignment="center", key="home_head"):
        st.subheader("For you")
        if needed <= 0:  # below five ratings the list is locked too
            st.button(
                "See all recommendations →", key="home_see_all", on_click=go_to, args=(VIEW_RECS,)
            )
    if needed > 0:
        _locked(
            f"Rate {needed} more movie{'s' if needed != 1 else ''} to see your rows of "
            f"recommendations ({RATINGS_NEEDED} ratings in all)."
        )
        return
    try:
        screen = remember("rows", ratings_version(), lambda: client().rows())
    except ApiError as err:
        if err.code != "not_enough_ratings":
            raise
        _locked(err.message)
        return
    if not screen.get("rows"):
        st.info("You have rated everything we could recommend. Impressive!")
        return
    for index, row in enumerate(screen["rows"]):
        _row(index, row)


def _row(index: int, row: dict[str, Any]) -> None:
    """One row: its title, its reason, then its cards in a strip that scrolls sideways."""
    st.markdown(f"#### {plain(row['title'])}")
    st.markdown(
        f'<div class="mr-row-reason">{html.escape(sentence(row.get("reason")))}</div>',
        unsafe_allow_html=True,
    )
    with st.container(horizontal=True, wrap=False, gap="small", key=f"strip_{index}"):
        for item in row["items"]:
            _card(item)


def _card(item: dict[str, Any]) -> None:
    """A card: poster with the match badge, title, genres and reason (a click on them opens
    the details), then "Want to watch" and "Not interested"."""
    movie = item["movie"]
    movie_id = int(movie["id"])
    match = item.get("match")
    badge = f"{int(round(match))}% match" if match is not None else None
    reason = html.escape(sentence(item.get("reason")))
    with st.container(key=f"rowcard_{movie_id}", width=CARD_WIDTH, gap=None):
        with st.container(key=f"rowopen_{movie_id}", gap=None):
            st.markdown(
                f'<div class="mr-strip-card">'
                f"{card_html(movie, badge=badge, extra=f'<div class=mr-reason>{reason}</div>')}"
                f"</div>",
                unsafe_allow_html=True,
            )
            st.button(
                f"Details of {movie_title(movie)}",
                key=f"rows:{movie_id}",
                on_click=open_details,
                args=(movie_id,),
                kwargs={"why": item},
            )
        with card_buttons(f"rows_{movie_id}"):
            card_actions(movie, key="rows", hints=False)
