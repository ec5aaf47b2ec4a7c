"""Entry point of the web app: ``streamlit run app/Home.py``.

Each view (rate, for you, recommendations, discover, my ratings, genres, insights, model insights,
account) is a page of ``st.navigation`` with its own URL (``/recommendations``, ``/my-ratings``,
... see ``app.session.VIEW_PATHS``; "Rate movies" is the home page at ``/``), so links, reload
and the browser's back button work. The page draws its own bar of links (``nav_bar``; Streamlit's
own top bar folds into a side menu on phones that stays open over the page). A signed-out
visitor gets the sign-in page at whatever URL they opened (no bar) and, once signed in, the
view of that URL; a reload signs them in again from the session cookie. A new visitor is
walked through in order: sign up -> pick genres -> rate five movies -> "For you", the home
view of rows of recommendations (``app/views/home.py``; "See all" opens the paged list). Any
card's "More like this" opens a details dialog with similar movies. All data comes from the
worker's REST API (``app/client.py``); settings come from the environment (``app/config.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run app/Home.py` puts app/ on sys.path, not the project root; the app's modules
# import each other as the `app` package.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from app import components, feedback, session  # noqa: E402
from app.config import RATINGS_NEEDED  # noqa: E402
from app.session import (  # noqa: E402
    VIEW_ACCOUNT,
    VIEW_DISCOVER,
    VIEW_GENRES,
    VIEW_HOME,
    VIEW_INSIGHTS,
    VIEW_MINE,
    VIEW_MODEL,
    VIEW_PATHS,
    VIEW_RATE,
    VIEW_RECS,
    VIEW_WATCHLIST,
    VIEWS,
    client,
    go_to,
)
from app.views import (  # noqa: E402
    account,
    auth,
    details,
    discover,
    genres,
    home,
    insights,
    model_insights,
    my_ratings,
    rate,
    recommendations,
    watchlist,
)

#: What each view draws, given the ``/me`` answer.
PAGES = {
    VIEW_GENRES: lambda me: genres.render(me.get("genres") or []),
    VIEW_RATE: rate.render,
    VIEW_HOME: home.render,
    VIEW_RECS: recommendations.render,
    VIEW_DISCOVER: discover.render,
    VIEW_MINE: my_ratings.render,
    VIEW_WATCHLIST: watchlist.render,
    VIEW_INSIGHTS: insights.render,
    VIEW_MODEL: model_insights.render,
    VIEW_ACCOUNT: account.render,
}


def progress(me: dict) -> None:
    """Where the person stands on the way in: genres first (with a way back to them), then
    the counter toward the five ratings recommendations need. Once ready, only the rating
    page offers the way to the recommendations (the one-time "ready" message is a flash)."""
    view = st.session_state.get("nav")
    if genres.needs_genres(me):
        if view != VIEW_GENRES:
            genres.guide_back(me)
        return
    count = int(me.get("rating_count", 0))
    needed = int(me.get("ratings_needed", max(0, RATINGS_NEEDED - count)))
    if needed > 0:
        if view in (VIEW_RATE, VIEW_HOME, VIEW_RECS):
            st.progress(
                min(count, RATINGS_NEEDED) / RATINGS_NEEDED,
                text=f"Rated {count} of {RATINGS_NEEDED} — rate {needed} more to unlock "
                "your recommendations",
            )
    elif view == VIEW_RATE:
        st.button(
            "See my recommendations →",
            key="go_recs",
            type="primary",
            on_click=go_to,
            args=(VIEW_HOME,),
        )


def header() -> None:
    """Greeting, the one-click log-out button and the navigation bar."""
    name = (st.session_state.get("user") or {}).get("username") or "guest"
    left, right = st.columns([3, 1], vertical_alignment="center")
    with left:
        st.markdown(f"### Movie matcher  \nHi **{name}**")
    with right:
        st.button("Log out", key="logout", on_click=session.log_out, width="stretch")
    nav_bar()
    account.guest_banner()


#: This run's pages (set by :func:`main`), for the navigation bar's links.
_PAGES: dict[str, st.Page] = {}


def nav_bar() -> None:
    """One link per view (real ``<a href>`` links: a new tab, a bookmark, the back button all
    work), in a row that wraps on a phone — never folded away into a menu."""
    with st.container(horizontal=True, gap="small", key="nav_bar"):
        for view, page in _PAGES.items():
            st.page_link(page, label=view, width="content")


def logged_in_page(view: str) -> None:
    """The page of ``view`` for a signed-in person: header, messages, progress, the view, and
    the details dialog when one is open."""
    session.apply_rating_changes()  # first: the counter and lists below show its result
    header()
    me = client().me()
    st.session_state["rating_count"] = int(me.get("rating_count", 0))
    session.show_flashes()
    feedback.undo_bar()
    progress(me)
    PAGES[view](me)
    details.render()


def signed_out_page() -> None:
    """What every URL shows a signed-out visitor: the sign-in forms."""
    session.show_flashes()
    session.guarded(auth.render)


def _signed_in_draw(view: str):
    def draw() -> None:
        session.guarded(lambda: logged_in_page(view))

    return draw


def pages(signed_in: bool) -> dict[str, st.Page]:
    """One ``st.Page`` per view, under the same URL paths whether signed in or not (so signing
    in or out keeps the URL): the view itself, or the sign-in forms (hidden from the bar)."""
    made = {}
    for view in VIEWS:
        home = view == VIEW_RATE
        if signed_in:
            made[view] = st.Page(
                _signed_in_draw(view), title=view, url_path=VIEW_PATHS[view], default=home
            )
        else:
            made[view] = st.Page(
                signed_out_page,
                title="Sign in",
                url_path=VIEW_PATHS[view],
                default=home,
                visibility="hidden",
            )
    return made


def main() -> None:
    st.set_page_config(page_title="Movie matcher", page_icon="🎬", layout="wide")
    components.inject_css()
    if not session.logged_in():
        session.guarded(session.restore_from_cookie)  # reload, new tab: still signed in
    signed_in = session.logged_in()
    if not signed_in:
        st.session_state.pop(session.CHANGES, None)
    registered = pages(signed_in)
    _PAGES.clear()
    _PAGES.update(registered)
    # The bar is drawn by the page itself (nav_bar), so it stays in view on a phone too.
    page = st.navigation(list(registered.values()), position="hidden")
    view = next(v for v, p in registered.items() if p is page)
    st.session_state["nav"] = view
    wanted = st.session_state.pop("goto", None)
    if signed_in and wanted in registered and wanted != view:
        st.switch_page(registered[wanted])  # a button asked for another view: its URL too
    page.run()
    session.draw_cookie()  # last, so its coming and going never moves the page's elements


main()
