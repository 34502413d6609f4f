"""The two HTML pages a person sees from labmcp: the consent form and a plain error page.

Everything interpolated is escaped; the pages load nothing from elsewhere, refuse to be framed
(clickjacking of the approve button) and are never cached.
"""

from __future__ import annotations

import unicodedata
from html import escape
from typing import Final

from starlette.responses import HTMLResponse

HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http:; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

MAX_SHOWN_CHARS: Final = 80
"""The most characters of a client-chosen string (client name, redirect host) the consent page shows."""
_HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_BLANK_LETTERS: Final = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # letters that draw nothing


def shown(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """A client-chosen string as a person can safely read it: every character that is invisible or
    changes how its neighbours are drawn (bidi overrides and isolates, zero-width and other format
    characters, controls, line separators, unassigned code points, blank letters) written out as
    ``[U+202E]``, other spaces as one plain space, and at most ``limit`` characters (then ``…``).

    A registered client chooses its name, so ``Claude\u202egnp.exe`` must not read as a different
    application on the page where the user decides whom to let in.
    """
    out: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in _HIDDEN_CATEGORIES or ch in _BLANK_LETTERS:
            out.append(f"[U+{ord(ch):04X}]")
        elif category == "Zs":
            out.append(" ")
        else:
            out.append(ch)
    visible = " ".join("".join(out).split())
    return visible if len(visible) <= limit else visible[: limit - 1] + "…"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}"
    "button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.6rem}code{background:#eee;padding:0 .2rem}"
)


def _page(title: str, body: str, status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


def consent_page(
    *, server: str, client_name: str, redirect_host: str, request: str, csrf: str, headers: dict[str, str]
) -> HTMLResponse:
    """Name the client and where it will receive the grant (both ``shown``); approve continues to LabArchives."""
    body = (
        f"<h1>Allow access to your LabArchives notebooks?</h1>"
        f"<p><strong>{escape(shown(client_name))}</strong> asks to read your notebooks through "
        f"<strong>{escape(server)}</strong>, read-only.</p>"
        f"<p>After you sign in, LabArchives access is handed to <code>{escape(shown(redirect_host))}</code>. "
        "Approve only if you started this from that application just now.</p>"
        '<form method="post" action="/auth/consent">'
        f'<input type="hidden" name="request" value="{escape(request)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<button type="submit" name="approve" value="yes">Approve and sign in to LabArchives</button>'
        '<button type="submit" name="deny" value="yes">Deny</button>'
        "</form>"
    )
    return _page("Allow access", body, 200, headers)


def error_page(message: str, status: int = 400) -> HTMLResponse:
    """A dead end with one clear sentence and what to do next; never a stack trace or a token."""
    body = (
        f"<h1>Sign-in did not complete</h1><p>{escape(message)}</p>"
        "<p>Close this window and start the connection again from your MCP client.</p>"
    )
    return _page("Sign-in did not complete", body, status)
