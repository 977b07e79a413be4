"""An ASGI middleware that refuses request bodies past a bound (413) before they are
read into memory or spooled to disk: a declared ``Content-Length`` over the bound is
refused at once, and a body without one is counted as it streams in. Upload paths have
their own, larger bound."""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stridekit.web.errors import TooLarge, error_response


class BodyLimit:
    """Wrap ``app``; bodies over ``max_bytes`` (``uploads[path]`` on an upload path) get
    a 413 with the usual error shape."""

    def __init__(self, app: ASGIApp, max_bytes: int, uploads: dict[str, int]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads

    def _error(self, path: str) -> TooLarge:
        bound = self.uploads.get(path, self.max_bytes)
        option = "--max-upload-mb" if path in self.uploads else "--max-spec-kb"
        return TooLarge(
            f"the request body is larger than {bound:,} bytes, the bound for this request "
            f"(stridekit serve {option})"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        bound = self.uploads.get(path, self.max_bytes)
        declared = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1  # the server rejects a malformed header itself
            if length > bound:
                await error_response(self._error(path))(scope, receive, send)
                return
            if length >= 0:
                # the server frames the body by its Content-Length (h11 and httptools
                # both refuse more bytes than declared): nothing to count
                await self.app(scope, receive, send)
                return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > bound:
                    exceeded = True
                    raise self._error(path)
            return message

        async def guarded_send(message: Message) -> None:
            # once the body is over the bound, whatever the app answers (FastAPI turns a
            # failed read into a 400) gives way to the 413
            nonlocal started
            if exceeded:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(TooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if exceeded and not started:
            await error_response(self._error(path))(scope, receive, send)
