"""Security headers on every response of the candidate pages.

The pages load only their own script and stylesheet, and the link token is in the URL, so
no referrer is sent and nothing is cached.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)
STATIC_PREFIX = "/static/"


class SecurityHeadersMiddleware:
    """Add the security headers and ``Cache-Control`` to every HTTP response.

    Pages and JSON get ``no-store``. The static script and stylesheet get ``no-cache``, so
    browsers keep them but revalidate them on each load.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cache_control = b"no-cache" if scope["path"].startswith(STATIC_PREFIX) else b"no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"cache-control"
                ]
                headers.extend(SECURITY_HEADERS)
                headers.append((b"cache-control", cache_control))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
