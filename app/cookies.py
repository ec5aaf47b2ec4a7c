"""The session cookie that keeps a person signed in across reloads, new tabs and days.

**Reading**: ``st.context.cookies`` (the cookies the browser sent when this Streamlit session
opened its connection), so a reload or a new tab finds the token at once, server-side.

**Writing**: Streamlit 1.67 has no API to send a ``Set-Cookie`` header, so the app writes the
cookie from the browser with ``st.html(..., unsafe_allow_javascript=True)``: a two-line script
that sets ``document.cookie`` in the app's own page (``st.html`` is not iframed, so the cookie
belongs to the app's origin). This is the mechanism Streamlit itself supports for running
JavaScript; it needs no extra package and no custom component build. The script carries only
the token (URL-safe base64, JSON-quoted) and never puts it in the URL.

Attributes: ``Path=/``, ``SameSite=Strict``, ``Max-Age`` = what is left of the session on the
worker (``expires_in`` at log-in, ``session_expires_in`` of ``/me`` afterwards, so a guest's
sliding session keeps its cookie too), and ``Secure`` whenever the page is served over HTTPS
(decided in the browser from ``location.protocol``, which is right behind a TLS-terminating
Ingress too). A script cannot set ``HttpOnly``; the token is still never in a URL, is bound to
this site by ``SameSite=Strict`` and is revoked on the worker at log-out.
"""

from __future__ import annotations

import json

import streamlit as st

from api import rules

COOKIE_NAME = "movie_matcher_session"


def read_token() -> str | None:
    """The session token the browser sent in its cookie, or None (no cookie, or no browser)."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no browser context (bare mode, AppTest)
        return None
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if rules.token_shaped(value) else None


def _script(value: str, max_age: int) -> str:
    cookie = json.dumps(f"{COOKIE_NAME}={value}; Path=/; Max-Age={int(max_age)}; SameSite=Strict")
    return (
        "<script>(function(){var c="
        + cookie
        + ";if(location.protocol==='https:'){c+='; Secure';}document.cookie=c;})();</script>"
    )


def write(token: str, max_age: int) -> None:
    """Set the cookie to ``token`` for ``max_age`` seconds (the session's remaining life)."""
    st.html(_script(token, max(1, int(max_age))), unsafe_allow_javascript=True, width=1)


def clear() -> None:
    """Delete the cookie (log-out, a revoked or expired session)."""
    st.html(_script("", 0), unsafe_allow_javascript=True, width=1)
