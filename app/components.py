"""Reusable pieces of the page: the movie card, its poster placeholder and the rating control.

The poster is drawn in pure HTML/CSS as two stacked layers: a placeholder (a film icon and the
title on a calm gradient) underneath, and the poster as a CSS background image on top. When the
poster URL fails to load (no network, a 404, a missing path) the top layer simply stays empty and
the placeholder shows; a browser never draws a broken-image icon for a CSS background. Without a
``poster_url`` only the placeholder is drawn. No JavaScript is involved.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

#: Rating choices of the control: 0 means "not rated", then 0.5 .. 5 in half steps.
RATING_CHOICES: list[float] = [0.0] + [x / 2 for x in range(1, 11)]

_CSS = """
<style>
.mr-card {margin-bottom: 0.25rem;}
.mr-poster {position: relative; width: 100%; aspect-ratio: 2 / 3; border-radius: 10px;
  overflow: hidden; background: linear-gradient(160deg, #2b3a55 0%, #1b2333 100%);
  box-shadow: 0 1px 4px rgba(0,0,0,.25);}
.mr-placeholder {position: absolute; inset: 0; display: flex; flex-direction: column;
  align-items: center; justify-content: center; gap: .5rem; padding: .75rem; color: #d8dee9;
  text-align: center; font-size: .85rem; line-height: 1.2;}
.mr-placeholder svg {width: 38%; max-width: 64px; opacity: .75;}
.mr-poster-img {position: absolute; inset: 0; background-size: cover;
  background-position: center; background-repeat: no-repeat;}
.mr-badge {position: absolute; top: 6px; left: 6px; background: rgba(14, 122, 70, .92);
  color: #fff; font-weight: 700; font-size: .8rem; padding: 2px 7px; border-radius: 999px;}
.mr-title {font-weight: 600; margin-top: .4rem; line-height: 1.2; font-size: .95rem;
  overflow-wrap: anywhere;}
.mr-year {font-weight: 400; opacity: .7;}
.mr-genres {font-size: .78rem; opacity: .75; line-height: 1.2; margin-top: .15rem;}
.mr-reason {font-size: .8rem; margin-top: .25rem; line-height: 1.25;}
.mr-stars {font-size: .85rem; margin-top: .2rem;}
[data-testid="stMainBlockContainer"] {padding-top: 2.5rem;}
/* Phones: Streamlit stacks the columns; a full-width 2:3 poster would fill the screen, so
   the card turns into a row (poster thumbnail left, text right). */
@media (max-width: 640px) {
  .mr-card {display: flex; gap: .75rem; align-items: flex-start;}
  .mr-card .mr-poster {width: 34%; flex: none;}
  .mr-card-body {flex: 1; min-width: 0;}
  .mr-card-body .mr-title {margin-top: 0;}
}
</style>
"""

_FILM_ICON = (
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.5" '
    'aria-hidden="true"><rect x="3" y="3" width="18" height="18" rx="2"/>'
    '<path d="M7 3v18M17 3v18M3 7.5h4M3 12h4M3 16.5h4M17 7.5h4M17 12h4M17 16.5h4"/></svg>'
)


def inject_css() -> None:
    """Add the card styles to the page (call once per script run, before any card)."""
    st.markdown(_CSS, unsafe_allow_html=True)


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
    layers = [f'<div class="mr-placeholder">{_FILM_ICON}<span>{title}</span></div>']
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
    reasons: list[str] | None = None,
    on_details: Callable[[int], None] | None = None,
    show_overview: bool = True,
) -> None:
    """Draw one movie card: head, a "Why?" list, the overview on demand, a half-star rating
    control and a "More like this" button.

    Inputs: the contract's movie object, a unique widget ``key`` prefix, the current ``rating``
    (0.5..5 or None) and ``on_rate(movie_id, widget_key, title, rating)`` called as soon as the
    person moves the control, with the rating shown before the move (the callback saves and
    reports). ``reasons`` (recommendations: every piece of evidence) fill a "Why?" expander;
    ``on_details(movie_id)`` is the "More like this" button's callback (no button when None).
    Output: nothing (draws in the container).
    """
    st.markdown(card_html(movie, badge=badge, extra=extra_html), unsafe_allow_html=True)
    if reasons:
        with st.expander("Why?"):
            st.markdown("\n".join(f"- {plain(sentence(reason))}" for reason in reasons))
    if show_overview:
        overview = movie.get("overview")
        tagline = movie.get("tagline")
        with st.expander("Overview"):
            if tagline:
                st.markdown(f"*{plain(tagline)}*")
            st.write(overview or "No overview available for this movie.")
    rating_control(movie, key=key, on_rate=on_rate, rating=rating)
    if on_details is not None:
        st.button(
            "More like this",
            key=f"{key}:more:{movie['id']}",
            on_click=on_details,
            args=(int(movie["id"]),),
            width="stretch",
        )


def sentence(text: Any) -> str:
    """``text`` with its first letter capitalised (reasons arrive as phrases)."""
    text = str(text or "").strip()
    return text[:1].upper() + text[1:]


def plain(text: Any) -> str:
    """``text`` with Markdown's special characters escaped (titles and reasons are data)."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|~$" else ch for ch in str(text))


def rating_control(
    movie: dict[str, Any],
    *,
    key: str,
    on_rate: Callable[[int, str, str, float | None], None],
    rating: float | None,
) -> None:
    """The half-star select slider of ``movie`` under ``key:<id>`` and its "Saved" caption.

    The control follows ``rating`` when it changed elsewhere (another card, the details
    dialog): the last value drawn is kept under ``key:<id>:drawn``.
    """
    widget_key = f"{key}:{movie['id']}"
    drawn_key = f"{widget_key}:drawn"
    if widget_key not in st.session_state or st.session_state.get(drawn_key) != rating:
        st.session_state[widget_key] = float(rating or 0.0)
    st.session_state[drawn_key] = rating
    st.select_slider(
        f"Your rating of {movie_title(movie)}",
        options=RATING_CHOICES,
        format_func=format_rating,
        key=widget_key,
        on_change=on_rate,
        args=(int(movie["id"]), widget_key, movie_title(movie), rating),
        label_visibility="collapsed",
    )
    if rating:
        st.caption(f"✓ Saved: {format_rating(rating)}")
    else:
        st.caption("Not rated yet — slide to rate")


def card_grid(items: list[Any], draw: Callable[[Any], None], columns: int = 4) -> None:
    """Lay ``items`` out in rows of ``columns`` cards (Streamlit stacks them on phones)."""
    for start in range(0, len(items), columns):
        row = st.columns(columns, gap="small")
        for col, item in zip(row, items[start : start + columns], strict=False):
            with col:
                draw(item)
