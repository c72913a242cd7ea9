"""Security headers on every response, pages, API, static files and error pages alike.

The Content-Security-Policy allows scripts from our own origin only: no inline `<script>`, no
`on*=` attributes, no `eval`. That is why templates wire behaviour with data attributes that
`static/js/*.js` reads, and why the shell tells htmx not to inject its indicator `<style>`.
Styles are held to the same rule (no `style=""` in templates; classes in `static/css/`).

Two places differ, each for a reason:
- `/board/display` is the wall display, meant to be shown inside a school's signage page:
  its `frame-ancestors` come from `DISPLAY_FRAME_ANCESTORS` (default `'self'`), every other
  page may not be framed at all.
- `/schema/swagger` is Litestar's API explorer: it loads Swagger UI from its CDN and starts it
  with one inline script and style, which `SwaggerWithCsp` allows by their hashes (never `'unsafe-inline'`).

Headers a handler sets itself win (the display sends `Referrer-Policy: no-referrer`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin

from app.settings import get_settings

_INLINE_HASHES = "shuyuan.csp_inline_hashes"
_SWAGGER_CDN = "https://cdn.jsdelivr.net"
_INLINE = {
    "script": re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S),
    "style": re.compile(rb"<style[^>]*>(.*?)</style>", re.S),
}


def content_security_policy(*, frame_ancestors: str = "'none'", extra_script: str = "", extra_style: str = "") -> str:
    directives = {
        "default-src": "'self'",
        "script-src": f"'self'{extra_script}",
        "style-src": f"'self'{extra_style}",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self' ws: wss:",
        "frame-ancestors": frame_ancestors,
        "base-uri": "'self'",
        "form-action": "'self'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _policy_for(scope: dict[str, Any]) -> str:
    path = scope.get("path", "")
    if path == "/board/display":
        return content_security_policy(frame_ancestors=get_settings().display_frame_ancestors)
    hashes = (scope.get("state") or {}).get(_INLINE_HASHES)
    if hashes:
        script, style = ("".join(f" '{h}'" for h in hashes[kind]) for kind in ("script", "style"))
        return content_security_policy(extra_script=f" {_SWAGGER_CDN}{script}", extra_style=f" {_SWAGGER_CDN}{style}")
    return content_security_policy()


async def security_headers(message: dict[str, Any], scope: dict[str, Any]) -> None:
    """`before_send` hook: add the security headers to every HTTP response."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {name.lower() for name, _ in headers}
    wanted = [
        (b"content-security-policy", _policy_for(scope).encode()),
        (b"referrer-policy", b"same-origin"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if get_settings().auth.cookie_secure:  # served over HTTPS: tell browsers to stay there
        wanted.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    message["headers"] = headers + [(name, value) for name, value in wanted if name not in present]


class SwaggerWithCsp(SwaggerRenderPlugin):
    """Litestar's Swagger page, whose inline start-up script and style are allowed by their sha256."""

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        body = super().render(request, openapi_schema)
        request.scope.setdefault("state", {})[_INLINE_HASHES] = {
            kind: [
                "sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode() for text in pattern.findall(body)
            ]
            for kind, pattern in _INLINE.items()
        }
        return body
