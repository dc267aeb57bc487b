"""Security headers on every HTTP response, as a pure ASGI send-wrapper (no BaseHTTPMiddleware:
no extra task, no body buffering; one list concatenation per response).

- `X-Content-Type-Options: nosniff`: a browser never guesses a type we did not send;
- `Referrer-Policy: no-referrer`: signed media URLs never leak to other sites through Referer;
- `Content-Security-Policy: frame-ancestors 'none'` and `X-Frame-Options: DENY`: no framing
  (click-jacking). Only `frame-ancestors` is set, so GraphiQL's page (and a studio served later)
  keeps loading its scripts; a route can send a stricter policy of its own (the media route
  does), and then this one is left out;
- `Strict-Transport-Security` when the public base URL is https.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = b"max-age=63072000; includeSubDomains"


def security_headers(https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", b"frame-ancestors 'none'"),
        (b"x-frame-options", b"DENY"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS))
    return headers


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.headers = security_headers(https)
        self.names = frozenset(name for name, _ in self.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra, names = self.headers, self.names

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = list(message.get("headers") or ())
                for name, _ in present:
                    if name in names:  # the route chose one of these itself: keep its choice
                        have = {name for name, _ in present}
                        present += [h for h in extra if h[0] not in have]
                        break
                else:
                    present += extra
                message["headers"] = present
            await send(message)

        await self.app(scope, receive, send_with_headers)
