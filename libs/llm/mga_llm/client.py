"""The one adapter between the platform and language models, through litellm.

Every call asks for JSON matching a pydantic model, at temperature 0, with a timeout. The
reply is checked in order: a cut-off reply (``finish_reason="length"``) or an empty one is a
failure, the JSON object is extracted from fences or prose, the model validates it (unknown
keys are dropped, never acted on), and an optional check looks at the meaning (say, that
quoted evidence exists). Any failure is retried a bounded number of times with backoff and
then raised as ``GenerationFailed``. Each call is counted by purpose, model and outcome, with
its latency, tokens and estimated cost. Prompts and replies are never logged.
"""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from mga_core.errors import GenerationFailed
from mga_core.metrics import LLM_CALL_DURATION, LLM_CALLS, LLM_COST, LLM_TOKENS
from mga_llm.json_output import InvalidJsonOutput, extract_json_object

# litellm downloads its price table at import unless this variable selects the bundled copy,
# and an offline production host cannot download it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
import openai  # noqa: E402

log = structlog.get_logger()

Output = TypeVar("Output", bound=BaseModel)


class OutputRejected(Exception):
    """A reply that cannot be used; ``reason`` is a bounded metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class JsonModel(Protocol):
    async def complete_json(
        self,
        *,
        purpose: str,
        system: str,
        user: str,
        output: type[Output],
        check: Callable[[Output], None] | None = None,
    ) -> Output: ...


@dataclass(frozen=True)
class LlmSettings:
    model: str
    api_base: str | None = None
    api_key: str | None = None
    timeout_seconds: float = 60.0
    max_attempts: int = 3
    max_tokens: int = 4000


class LiteLlmClient:
    """``JsonModel`` over litellm; works with any provider litellm supports."""

    def __init__(self, settings: LlmSettings) -> None:
        self._settings = settings

    async def complete_json(
        self,
        *,
        purpose: str,
        system: str,
        user: str,
        output: type[Output],
        check: Callable[[Output], None] | None = None,
    ) -> Output:
        """Ask the model for an ``output`` object; raise ``GenerationFailed`` if none comes."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._settings.max_attempts),
            wait=wait_exponential(multiplier=0.5, max=8),
            retry=retry_if_exception_type(OutputRejected),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._call_once(
                        purpose=purpose, system=system, user=user, output=output, check=check
                    )
        except OutputRejected as exc:
            log.error(
                "llm.generation_failed",
                purpose=purpose,
                model=self._settings.model,
                attempts=self._settings.max_attempts,
                reason=exc.reason,
                error=str(exc),
            )
            raise GenerationFailed() from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _call_once(
        self,
        *,
        purpose: str,
        system: str,
        user: str,
        output: type[Output],
        check: Callable[[Output], None] | None,
    ) -> Output:
        model = self._settings.model
        started = time.perf_counter()
        try:
            response = await litellm.acompletion(
                model=model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                api_base=self._settings.api_base,
                api_key=self._settings.api_key,
                timeout=self._settings.timeout_seconds,
                temperature=0,
                max_tokens=self._settings.max_tokens,
                num_retries=0,
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": output.__name__,
                        "schema": output.model_json_schema(),
                    },
                },
            )
        except openai.APITimeoutError as exc:
            self._count(purpose, "timeout")
            raise OutputRejected("timeout", type(exc).__name__) from exc
        # litellm maps every provider failure onto the openai exception tree.
        except (openai.OpenAIError, OSError) as exc:
            self._count(purpose, "provider_error")
            raise OutputRejected("provider_error", type(exc).__name__) from exc
        finally:
            LLM_CALL_DURATION.labels(purpose, model).observe(time.perf_counter() - started)

        self._record_usage(purpose, response)
        try:
            result = parse_reply(response, output)
            if check is not None:
                check(result)
        except OutputRejected as exc:
            self._count(purpose, exc.reason)
            log.warning("llm.output_rejected", purpose=purpose, model=model, reason=exc.reason)
            raise
        self._count(purpose, "ok")
        return result

    def _count(self, purpose: str, outcome: str) -> None:
        LLM_CALLS.labels(purpose, self._settings.model, outcome).inc()

    def _record_usage(self, purpose: str, response: Any) -> None:
        model = self._settings.model
        usage = getattr(response, "usage", None)
        if usage is not None:
            LLM_TOKENS.labels(purpose, model, "prompt").inc(usage.prompt_tokens or 0)
            LLM_TOKENS.labels(purpose, model, "completion").inc(usage.completion_tokens or 0)
        try:
            cost = litellm.completion_cost(completion_response=response)
        except Exception:  # litellm raises many types for models missing from its price table
            cost = 0.0
        LLM_COST.labels(purpose, model).inc(max(0.0, float(cost or 0.0)))


def parse_reply(response: Any, output: type[Output]) -> Output:
    """Turn a chat completion into ``output``; raise ``OutputRejected`` with the reason."""
    choice = response.choices[0]
    content = choice.message.content or ""
    if choice.finish_reason == "length":
        raise OutputRejected("length", "the reply was cut off at the token limit")
    if not content.strip():
        raise OutputRejected("empty", f"finish_reason={choice.finish_reason!r} with no content")
    try:
        data = extract_json_object(content)
    except InvalidJsonOutput as exc:
        raise OutputRejected("invalid_json", str(exc)) from None
    try:
        return output.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(
            ".".join(str(part) for part in error["loc"]) for error in exc.errors()[:5]
        )
        raise OutputRejected("schema", f"invalid fields: {fields}") from None
