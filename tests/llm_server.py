"""A local OpenAI-compatible chat-completions server with scripted replies, for LLM tests.

litellm talks to it over real HTTP (``model="openai/<name>"``, ``api_base=<url>/v1``). Each
request takes the next scripted reply; when the script is used up, the last reply repeats.
Every request body is kept so tests can inspect the prompts.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support import RunningServer


@dataclass
class Reply:
    content: str | None = None
    finish_reason: str = "stop"
    status: int = 200
    # Seconds to wait before answering; longer than the client's timeout makes it hang.
    delay: float = 0.0


@dataclass
class ScriptedModel:
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: RunningServer | None = None
    url: str = ""

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def _next(self) -> Reply:
        if len(self.replies) > 1:
            return self.replies.pop(0)
        return self.replies[0] if self.replies else Reply(content="{}")

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            reply = self._next()
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.status != 200:
                return JSONResponse(
                    {"error": {"message": "scripted failure", "type": "server_error"}},
                    status_code=reply.status,
                )
            return JSONResponse(
                {
                    "id": f"chatcmpl-{len(self.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "test-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.content},
                            "finish_reason": reply.finish_reason,
                        }
                    ],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
                }
            )

        return app

    async def start(self) -> str:
        self._server = RunningServer(self.app())
        self.url = await self._server.start()
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
