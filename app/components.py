"""Reusable pieces of the page: the movie card, its poster placeholder and the star control.

The poster is drawn in pure HTML/CSS as two stacked layers: a placeholder (a film icon on a calm
gradient; the title is printed once, under the poster) underneath, and the poster as a CSS
background image on top. When the poster URL fails to load (no network, a 404, a missing path)
the top layer simply stays empty and the placeholder shows; a browser never draws a
broken-image icon for a CSS background. Without a ``poster_url`` only the placeholder is
drawn. No JavaScript is involved.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from api import rules

#: Rating choices of the star control: 0 means "not seen / not rated", then the ratings the
#: worker takes (:mod:`api.rules`: 0.5 .. 5 in half steps).
RATING_CHOICES: list[float] = [0.0] + [
    rules.MIN_STARS + i * rules.STAR_STEP
    for i in range(round((rules.MAX_STARS - rules.MIN_STARS) / rules.STAR_STEP) + 1)
]

_CSS = """
<style>
.mr-card {margin-bottom: 0.25rem;}
.mr-poster {position: relative; width: 100%; aspect-ratio: 2 / 3; border-radius: 10px;
  overflow: hidden; background: linear-gradient(160deg, #2b3a55 0%, #1b2333 100%);
  box-shadow: 0 1px 4px rgba(0,0,0,.25);}
.mr-placeholder {position: absolute; inset: 0; display: flex; align-items: center;
  justify-content: center; color: #d8dee9;}
.mr-placeholder svg {width: 34%; max-width: 64px; opacity: .55;}
.mr-poster-img {position: absolute; inset: 0; background-size: cover;
  background-position: center; background-repeat: no-repeat;}
.mr-badge {position: absolute; top: 6px; left: 6px; background: rgba(14, 122, 70, .92);
  color: #fff; font-weight: 700; font-size: .8rem; padding: 2px 7px; border-radius: 999px;}
/* Every card of a row is as tall as the others: the title takes two lines, the genres one,
   the reason two, whatever their length (longer text ends in an ellipsis). */
.mr-title {font-weight: 600; margin-top: .4rem; line-height: 1.2; font-size: .95rem;
  overflow-wrap: anywhere; display: -webkit-box; -webkit-line-clamp: 2;
  -webkit-box-orient: vertical; overflow: hidden; height: 2.4em;}
.mr-year {font-weight: 400; opacity: .7;}
.mr-genres {font-size: .78rem; opacity: .75; line-height: 1.3; margin-top: .15rem;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;}
.mr-reason {font-size: .8rem; margin-top: .25rem; line-height: 1.25; height: 2.5em;
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden;}
.mr-why {margin: .25rem 0 .75rem; max-width: 36rem;}
.mr-why-row {display: flex; align-items: center; gap: .5rem; font-size: .85rem; margin: .2rem 0;}
.mr-why-label {flex: 0 0 16rem; max-width: 55%;}
.mr-why-track {flex: 1; background: rgba(128,128,128,.15); border-radius: 4px; height: .7rem;}
.mr-why-bar {background: #0e7a46; height: 100%; border-radius: 4px;}
.mr-why-value {flex: 0 0 2.5rem; text-align: right; opacity: .75;}
.mr-dialog-title {font-size: 1.3rem; height: auto; -webkit-line-clamp: unset; margin-top: 0;}
[data-testid="stMainBlockContainer"] {padding-top: 2.5rem;}
/* The details dialog: the poster beside the text, never a whole screen of placeholder. */
[role="dialog"] .mr-poster {max-width: 240px;}
@media (max-width: 640px) {[role="dialog"] .mr-poster {max-width: 110px;}}
/* A card's buttons (card_buttons): compact, one line each, close together. */
[class*="st-key-acts_"] {gap: .35rem !important;}
[class*="st-key-acts_"] button {min-height: 0; padding: .2rem .5rem;}
[class*="st-key-acts_"] button p {font-size: .85rem; white-space: nowrap;}
/* Toasts at the bottom, where they cover no title, menu or Log out button. */
[data-testid="stToastContainer"] {top: auto !important; bottom: 1rem !important;}
/* The page's Undo bar (app.feedback.undo_bar) stays in view at the bottom of the window,
   wherever the card was; toasts and the page's end move up above it. */
.st-key-undo_bar_page {position: fixed; bottom: 1rem; left: 50%; transform: translateX(-50%);
  width: min(44rem, calc(100vw - 2rem)) !important; z-index: 100;
  box-shadow: 0 4px 16px rgba(0,0,0,.18); padding: .5rem .75rem !important;}
[class*="st-key-undo_bar_"] {flex-wrap: nowrap !important;}
[class*="st-key-undo_bar_"] p, [class*="st-key-undo_bar_"] [data-testid="stMarkdownContainer"] {
  margin: 0 !important;}
@media (max-width: 640px) {[class*="st-key-undo_bar_"] p {font-size: .9rem;}}
body:has(.st-key-undo_bar_page) [data-testid="stToastContainer"] {bottom: 7.5rem !important;}
body:has(.st-key-undo_bar_page) [data-testid="stMainBlockContainer"] {padding-bottom: 8rem;}
/* A chosen genre must be told apart from the others at a glance. */
button[data-variant="pills"][aria-pressed="true"] {background: #0e7a46 !important;
  border-color: #0e7a46 !important; color: #fff !important;}
button[data-variant="pills"][aria-pressed="true"] p::before {content: "✓ ";}
/* Phones: Streamlit stacks the columns; a full-width 2:3 poster would fill the screen, so
   the card turns into a compact row (a poster thumbnail left, the text right). */
@media (max-width: 640px) {
  .mr-card {display: flex; gap: .75rem; align-items: flex-start;}
  .mr-card .mr-poster {width: 25%; flex: none;}
  .mr-card-body {flex: 1; min-width: 0;}
  .mr-card-body .mr-title {margin-top: 0; height: auto;}
  .mr-card-body .mr-reason {height: auto;}
}
/* The star control: st.radio "Not seen", 0.5★ .. 5★ (aria-label "Your rating of ...").
   Each half-star choice shows half of a star glyph; choices up to the chosen one are gold,
   hovering previews. The radio circles are hidden; the choice's text stays for screen readers. */
[role="radiogroup"][aria-label^="Your rating"] {gap: 0 !important; flex-wrap: wrap !important;
  align-items: center; row-gap: .2rem !important;}
[role="radiogroup"][aria-label^="Your rating"] > div:first-child {order: 1;}
[role="radiogroup"][aria-label^="Your rating"] > div {margin: 0 !important; padding: 0 !important;}
[role="radiogroup"][aria-label^="Your rating"] label {padding: 0 !important; margin: 0 !important;
  min-height: 0 !important; cursor: pointer; gap: 0 !important;}
[role="radiogroup"][aria-label^="Your rating"] label > div > div:first-child {display: none;}
[role="radiogroup"][aria-label^="Your rating"] label p {margin: 0; padding: 0;}
[role="radiogroup"][aria-label^="Your rating"] > div:not(:first-child) p {font-size: 0;
  width: .62rem; overflow: hidden; line-height: 1.4rem; white-space: nowrap;}
[role="radiogroup"][aria-label^="Your rating"] > div:not(:first-child) p::before {
  content: "★" / ""; display: inline-block; width: 1.24rem; text-align: center;
  font-size: 1.24rem; color: #c9ced8;}
[role="radiogroup"][aria-label^="Your rating"] > div:nth-child(odd):not(:first-child) p::before {
  margin-left: -.62rem;}
[role="radiogroup"][aria-label^="Your rating"]:has(> div[data-selected="true"]:not(:first-child))
  > div p::before {color: #f0a500;}
[role="radiogroup"][aria-label^="Your rating"]:has(> div[data-selected="true"]:not(:first-child))
  > div[data-selected="true"] ~ div p::before {color: #c9ced8;}
[role="radiogroup"][aria-label^="Your rating"]:hover > div p::before {color: #ffc53d !important;}
[role="radiogroup"][aria-label^="Your rating"] > div:hover ~ div p::before {
  color: #c9ced8 !important;}
[role="radiogroup"][aria-label^="Your rating"] > div:first-child p {font-size: .68rem;
  line-height: 1.2; padding: .05rem .35rem; margin-left: .3rem; border: 1px solid #c9ced8;
  border-radius: 999px; opacity: .75; white-space: nowrap;}
[role="radiogroup"][aria-label^="Your rating"] > div:first-child[data-selected="true"] p {
  opacity: 1; border-color: #555;}
[role="radiogroup"][aria-label^="Your rating"] label:has(input:focus-visible) p {
  outline: 2px solid #1c6fd1; outline-offset: 1px; border-radius: 3px;}
</style>
"""

_FILM_ICON = (
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.5" '
    'aria-hidden="true"><rect x="3" y="3" width="18" height="18" rx="2"/>'
    '<path d="M7 3v18M17 3v18M3 7.5h4M3 12h4M3 16.5h4M17 7.5h4M17 12h4M17 16.5h4"/></svg>'
)


#: Background of what floats over the page (the Undo bar), by theme type: the page's own
#: background is not in reach of CSS, and white under a dark theme's light text is unreadable.
FLOATING_BACKGROUND = {"light": "#ffffff", "dark": "#262521"}


def theme_type() -> str:
    """``"dark"`` or ``"light"``: the theme the browser shows (``st.context.theme``; light
    when unknown, e.g. on the first run of a session)."""
    try:
        kind = st.context.theme.type
    except Exception:  # noqa: BLE001 - no browser context (AppTest, bare mode)
        kind = None
    return kind if kind in FLOATING_BACKGROUND else "light"


def inject_css() -> None:
    """Add the card styles to the page (call once per script run, before any card)."""
    floating = FLOATING_BACKGROUND[theme_type()]
    st.markdown(
        _CSS.replace("</style>", f".st-key-undo_bar_page {{background: {floating};}}\n</style>"),
        unsafe_allow_html=True,
    )


def safe_image_url(url: str | None) -> str | None:
    """``url`` if it is a plain http(s) URL safe to put inside CSS ``url("...")``, else None."""
    if not url or not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if any(ch in url for ch in "\"'()\\<>\n\r\t "):
        return None
    return url


def movie_title(movie: dict[str, Any]) -> str:
    """``Title (Year)`` or just the title when the year is unknown."""
    year = movie.get("year")
    return f"{movie.get('title', '?')} ({year})" if year else str(movie.get("title", "?"))


def poster_html(movie: dict[str, Any], badge: str | None = None) -> str:
    """HTML of the poster box: placeholder layer, then the poster layer when a URL is known."""
    title = html.escape(str(movie.get("title") or "Untitled"))
    url = safe_image_url(movie.get("poster_url"))
    layers = [f'<div class="mr-placeholder">{_FILM_ICON}</div>']
    if url:
        layers.append(
            f'<div class="mr-poster-img" role="img" aria-label="Poster of {title}" '
            f'style="background-image: url(&quot;{html.escape(url)}&quot;);"></div>'
        )
    if badge:
        layers.append(f'<div class="mr-badge">{html.escape(badge)}</div>')
    return f'<div class="mr-poster">{"".join(layers)}</div>'


def card_html(movie: dict[str, Any], *, badge: str | None = None, extra: str = "") -> str:
    """The whole card head: poster, title with year, genres and optional extra HTML lines."""
    title = html.escape(str(movie.get("title") or "Untitled"))
    year = movie.get("year")
    year_html = f' <span class="mr-year">({int(year)})</span>' if year else ""
    genres = html.escape(" · ".join(movie.get("genres") or []))
    return (
        f'<div class="mr-card">{poster_html(movie, badge)}<div class="mr-card-body">'
        f'<div class="mr-title">{title}{year_html}</div>'
        f'<div class="mr-genres">{genres}</div>{extra}</div></div>'
    )


def format_rating(value: float | None) -> str:
    """``4.5★`` for a rating, ``–`` (not rated) for 0 or None."""
    if not value:
        return "–"
    return f"{value:g}★"


def movie_card(
    movie: dict[str, Any],
    *,
    key: str,
    on_rate: Callable[[int, str, str, float | None], None],
    rating: float | None,
    badge: str | None = None,
    extra_html: str = "",
    on_details: Callable[[int], None] | None = None,
    actions: Callable[[], None] | None = None,
) -> None:
    """Draw one movie card: poster (with ``badge``), title and year, one line of genres,
    ``extra_html`` (recommendations: one short reason), the star control, a "More like this"
    button that opens the details dialog (overview, "Why?", similar movies) and ``actions()``
    (more buttons, e.g. :func:`app.feedback.card_actions`) close under it (:func:`card_buttons`).

    Inputs: the contract's movie object, a unique widget ``key`` prefix, the current ``rating``
    (0.5..5 or None) and ``on_rate(movie_id, widget_key, title, rating)`` called as soon as the
    person clicks a star, with the rating shown before the click (the callback saves and
    reports). ``on_details(movie_id)`` is the button's callback (no button when None).
    Output: nothing (draws in the container).
    """
    st.markdown(card_html(movie, badge=badge, extra=extra_html), unsafe_allow_html=True)
    rating_control(movie, key=key, on_rate=on_rate, rating=rating)
    if on_details is None and actions is None:
        return
    with card_buttons(f"{key}_{movie['id']}"):
        if on_details is not None:
            st.button(
                "More like this",
                key=f"{key}:more:{movie['id']}",
                on_click=on_details,
                args=(int(movie["id"]),),
                width="stretch",
            )
        if actions is not None:
            actions()


def card_buttons(key: str):
    """The container of a card's buttons (``with card_buttons(key): ...``): compact buttons,
    one line each, close together (the ``st-key-acts_`` styles), under the card's text."""
    return st.container(key=f"acts_{key}", gap=None)


def sentence(text: Any) -> str:
    """``text`` with its first letter capitalised (reasons arrive as phrases)."""
    text = str(text or "").strip()
    return text[:1].upper() + text[1:]


def plain(text: Any) -> str:
    """``text`` with Markdown's special characters escaped (titles and reasons are data)."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|~$" else ch for ch in str(text))


def star_label(value: float) -> str:
    """The accessible name of one choice of the star control: ``"Not seen"`` or ``"4.5★"``."""
    return "Not seen" if not value else f"{value:g}★"


def rating_control(
    movie: dict[str, Any],
    *,
    key: str,
    on_rate: Callable[[int, str, str, float | None], None],
    rating: float | None,
) -> None:
    """The star control of ``movie`` under ``key:<id>`` and its "Saved" caption.

    A horizontal radio group "Not seen", 0.5★ ... 5★ drawn as ten clickable half stars (see
    ``_STAR_CSS``): a click saves at once, Tab reaches it and the arrow keys move along it,
    screen readers read "4.5★". "Not seen" clears a rating. The control follows ``rating``
    when it changed elsewhere (another card, the details dialog): the last value drawn is kept
    under ``key:<id>:drawn``. A change only notes itself (``on_rate``, i.e.
    :func:`app.session.save_rating`); :func:`app.session.apply_rating_changes` judges it.
    """
    widget_key = f"{key}:{movie['id']}"
    drawn_key = f"{widget_key}:drawn"
    drawn = float(rating or 0.0)
    if st.session_state.get(drawn_key) != rating and widget_key in st.session_state:
        st.session_state[widget_key] = drawn
    st.session_state[drawn_key] = rating
    st.radio(
        f"Your rating of {movie_title(movie)}",
        options=RATING_CHOICES,
        # The browser mounts a control at its default before it takes the value set here;
        # a click in between sends that default back as a change. Default = the rating drawn.
        index=RATING_CHOICES.index(drawn) if drawn in RATING_CHOICES else 0,
        format_func=star_label,
        key=widget_key,
        on_change=on_rate,
        args=(int(movie["id"]), widget_key, movie_title(movie), rating),
        horizontal=True,
        label_visibility="collapsed",
    )
    if rating:
        st.caption(f"✓ Saved: {format_rating(rating)}")
    else:
        st.caption("Not rated yet")


def card_grid(items: list[Any], draw: Callable[[Any], None], columns: int = 6) -> None:
    """Lay ``items`` out in rows of ``columns`` cards (Streamlit stacks them on phones)."""
    for start in range(0, len(items), columns):
        row = st.columns(columns, gap="small")
        for col, item in zip(row, items[start : start + columns], strict=False):
            with col:
                draw(item)


def newer_older(key: str, page: int, has_next: bool, turn: Callable[[int], None]) -> None:
    """The "← Newer" / "Older →" buttons under a list shown newest first (keys ``KEY_prev``
    and ``KEY_next``); ``turn(-1)`` / ``turn(1)`` moves one page."""
    left, right = st.columns(2)
    with left:
        st.button(
            "← Newer",
            key=f"{key}_prev",
            disabled=page <= 1,
            on_click=turn,
            args=(-1,),
            width="stretch",
        )
    with right:
        st.button(
            "Older →",
            key=f"{key}_next",
            disabled=not has_next,
            on_click=turn,
            args=(1,),
            width="stretch",
        )
