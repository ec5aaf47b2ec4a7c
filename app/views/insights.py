"""Insights: the person's own taste — the genres they rate high and low, how their ratings
compare with everyone's, and the movies that shaped their recommendations.

Data: ``GET /me/taste`` (their ratings against the dataset's average rating of the same
movies) and the first page of their recommendations (whose evidence names the rated movies
behind each pick). The model's own plots are on the "Model insights" page.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app.client import ApiError
from app.components import plain
from app.config import PAGE_SIZE
from app.session import client, list_version, ratings_version, remember

#: Genres named as "rated highest" and "rated lowest" (each), and movies listed per section.
TOP_GENRES = 3
TOP_MOVIES = 5
#: A genre needs this many of the person's ratings to be named high or low.
MIN_GENRE_RATINGS = 2


def _stars(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}★"


def named_genres(genres: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """``(highest, lowest)``: up to ``TOP_GENRES`` genres each, from the worker's ``genres``
    (sorted by the person's mean, highest first), only genres with ``MIN_GENRE_RATINGS``
    ratings or more; a genre is never in both."""
    enough = [g for g in genres if g["count"] >= MIN_GENRE_RATINGS]
    split = min(TOP_GENRES, (len(enough) + 1) // 2)  # the upper half at most, never both
    high = enough[:split]
    low = list(reversed(enough[split:]))[:TOP_GENRES]
    return high, low


def shaping_movies(items: list[dict[str, Any]]) -> list[tuple[str, float | None, int]]:
    """The rated movies the recommendations cite, most cited first: ``[(title, your stars,
    number of recommendations citing it)]``. A recommendation cites the movie whose fans
    liked it (``coliked_title``) and the one whose story it is close to
    (``nearest_liked_title``); each movie counts once per recommendation."""
    counts: Counter[str] = Counter()
    stars: dict[str, float | None] = {}
    for item in items:
        evidence = item.get("evidence") or {}
        cited = {}
        for title_key, stars_key in (
            ("coliked_title", "coliked_your_rating"),
            ("nearest_liked_title", "nearest_liked_your_rating"),
        ):
            title = evidence.get(title_key)
            if title:
                cited[str(title)] = evidence.get(stars_key)
        for title, value in cited.items():
            counts[title] += 1
            stars.setdefault(title, value)
    return [(title, stars[title], n) for title, n in counts.most_common(TOP_MOVIES)]


def render(me: dict[str, Any]) -> None:
    """Draw the person's taste; a short note until they have rated something."""
    st.subheader("Your taste")
    summary = remember("taste", ratings_version(), lambda: client().taste())
    if not summary["rating_count"]:
        st.info("Rate a few movies and this page shows what your ratings say about your taste.")
        return
    _averages(summary)
    _genres(summary["genres"])
    _shaped(me)
    _compared(summary["movies"])
    st.caption("How the recommender itself learns and how reliable its match % is: Model insights.")


def _averages(summary: dict[str, Any]) -> None:
    mine, theirs = summary.get("my_mean"), summary.get("everyone_mean")
    left, right, third = st.columns(3)
    left.metric("Movies you rated", summary["rating_count"])
    right.metric("Your average rating", _stars(mine))
    delta = None if mine is None or theirs is None else f"{mine - theirs:+.1f}★ vs everyone"
    third.metric(
        "Everyone's average for the same movies", _stars(theirs), delta=delta, delta_color="off"
    )
    if mine is not None and theirs is not None:
        gap = mine - theirs
        if abs(gap) < 0.15:
            words = "You rate about like everyone else."
        elif gap > 0:
            words = f"You rate {gap:.1f}★ more generously than most people."
        else:
            words = f"You are a tougher critic: {-gap:.1f}★ below most people."
        st.markdown(words)


def _genres(genres: list[dict[str, Any]]) -> None:
    st.markdown("#### Genres you rate high and low")
    high, low = named_genres(genres)
    if not high:
        st.caption(f"Rate at least {MIN_GENRE_RATINGS} movies of a genre to see it here.")
        return

    def line(rows: list[dict]) -> str:
        return ", ".join(
            f"**{plain(g['genre'])}** ({_stars(g['my_mean'])} over {g['count']})" for g in rows
        )

    st.markdown(f"You rate highest: {line(high)}")
    if low:
        st.markdown(f"You rate lowest: {line(low)}")
    shown = [g for g in genres if g["count"] >= MIN_GENRE_RATINGS]
    st.caption("Your average rating per genre, next to everyone's average for the same movies.")
    st.altair_chart(genre_chart(shown), width="stretch", height=chart_height(len(shown)))


def genre_chart(genres: list[dict[str, Any]]) -> alt.Chart:
    """Horizontal bars, two per genre (you, everyone), genres in the order given, 0–5 stars."""
    you, everyone = "You", "Everyone (same movies)"
    rows = [
        {"genre": g["genre"], "who": who, "stars": value, "ratings": g["count"]}
        for g in genres
        for who, value in ((you, g["my_mean"]), (everyone, g["everyone_mean"]))
        if value is not None
    ]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            y=alt.Y("genre:N", sort=[g["genre"] for g in genres], title=None),
            yOffset=alt.YOffset("who:N", sort=[you, everyone]),
            x=alt.X("stars:Q", scale=alt.Scale(domain=[0, 5]), title="average rating (stars)"),
            color=alt.Color(
                "who:N",
                scale=alt.Scale(domain=[you, everyone], range=["#0e7a46", "#b8c2cc"]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["genre", "who", alt.Tooltip("stars:Q", format=".1f"), "ratings"],
        )
    )


def chart_height(genres: int) -> int:
    """Pixels for ``genres`` pairs of bars, the legend and the axis."""
    return 36 * genres + 90


def _shaped(me: dict[str, Any]) -> None:
    st.markdown("#### Movies that shaped your list")
    if int(me.get("ratings_needed", 0)) > 0:
        st.caption(
            "Rate five movies to get recommendations; then this shows which of your ratings "
            "count most."
        )
        return
    try:
        recs = remember(
            "taste:recs",
            (ratings_version(), list_version()),
            lambda: client().recommendations(page=1, page_size=PAGE_SIZE),
        )
    except ApiError as err:
        if err.status == 401:
            raise
        st.caption("Not available right now.")
        return
    shaping = shaping_movies(recs.get("items") or [])
    if not shaping:
        st.caption(
            "Your recommendations come from people with your taste as a whole, not from a few "
            "movies."
        )
        return
    total = len(recs.get("items") or [])
    rows = "".join(
        f"<li><b>{html.escape(title)}</b>"
        f"{f' (you: {value:g}★)' if value else ''} — behind {n} of your top {total} picks</li>"
        for title, value, n in shaping
    )
    st.markdown(f'<ul class="mr-shaped">{rows}</ul>', unsafe_allow_html=True)


def _compared(movies: list[dict[str, Any]]) -> None:
    st.markdown("#### Where you differ from everyone")
    if not movies:
        return
    more = [m for m in movies if m["rating"] - m["everyone_mean"] >= 0.5][:TOP_MOVIES]
    less = [m for m in reversed(movies) if m["everyone_mean"] - m["rating"] >= 0.5][:TOP_MOVIES]

    def lines(rows: list[dict]) -> str:
        return "\n".join(
            f"- {plain(m['movie']['title'])}: you {m['rating']:g}★, everyone "
            f"{m['everyone_mean']:.1f}★"
            for m in rows
        )

    left, right = st.columns(2)
    with left:
        st.markdown("**You liked more than most**")
        st.markdown(lines(more) or "Nothing stands out.")
    with right:
        st.markdown("**You liked less than most**")
        st.markdown(lines(less) or "Nothing stands out.")
