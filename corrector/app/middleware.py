"""ASGI middleware of ``correct serve``'s HTTP server (server.py)."""

from __future__ import annotations


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 in OpenAI's shape, whether
    it says its length or not, before any of it is parsed (``--max-request-bytes``)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            return await self._refuse(scope, receive, send)
        body, more = b"", True
        while more:  # FastAPI reads the whole body anyway: read it here, counting
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                return await self._refuse(scope, receive, send)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send):
        from fastapi.responses import JSONResponse

        message = (
            f"request body over {self.limit:,} bytes; send a shorter prompt, or start the server with a larger "
            "--max-request-bytes"
        )
        await JSONResponse(
            {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": 413}},
            status_code=413,
        )(scope, receive, send)
