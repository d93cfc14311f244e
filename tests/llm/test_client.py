"""The language-model adapter against a local OpenAI-compatible server over HTTP."""

import json
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, ConfigDict, Field
from prometheus_client import REGISTRY

from mga_core.errors import GenerationFailed
from mga_llm import LiteLlmClient, LlmSettings, OutputRejected
from tests.llm_server import Reply, ScriptedModel


class Question(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1)
    difficulty: int = Field(ge=1, le=5)


GOOD = {"text": "Tell me about `git rebase` and the Größe of your team.", "difficulty": 3}


@pytest.fixture
async def model() -> AsyncIterator[ScriptedModel]:
    scripted = ScriptedModel()
    await scripted.start()
    yield scripted
    await scripted.stop()


def _client(model: ScriptedModel, *, attempts: int = 3, timeout: float = 5.0) -> LiteLlmClient:
    return LiteLlmClient(
        LlmSettings(
            model="openai/test-model",
            api_base=f"{model.url}/v1",
            api_key="test-key",
            timeout_seconds=timeout,
            max_attempts=attempts,
        )
    )


async def _ask(client: LiteLlmClient, purpose: str = "test") -> Question:
    return await client.complete_json(
        purpose=purpose, system="You write questions.", user="One question.", output=Question
    )


def _failures(reason: str, purpose: str) -> float:
    value = REGISTRY.get_sample_value(
        "mga_llm_calls_total",
        {"purpose": purpose, "model": "openai/test-model", "outcome": reason},
    )
    return value or 0.0


@pytest.mark.parametrize(
    "content",
    [
        "```json\n" + json.dumps(GOOD, ensure_ascii=False) + "\n```",
        "Sure! " + json.dumps(GOOD, ensure_ascii=False),
        json.dumps(GOOD, ensure_ascii=False) + "\nHope this helps.",
    ],
    ids=["fenced", "prose-before", "prose-after"],
)
async def test_wrapped_json_parses_unchanged(model: ScriptedModel, content: str) -> None:
    model.script(Reply(content=content))

    question = await _ask(_client(model))

    assert question.text == GOOD["text"]
    assert question.difficulty == 3


async def test_extra_keys_are_ignored(model: ScriptedModel) -> None:
    model.script(Reply(content=json.dumps({**GOOD, "overallScore": 100, "admin": True})))

    question = await _ask(_client(model))

    assert question.model_dump() == GOOD


async def test_unbalanced_object_fails_after_bounded_retries(model: ScriptedModel) -> None:
    model.script(Reply(content='{"text": "cut'))

    with pytest.raises(GenerationFailed):
        await _ask(_client(model, attempts=3), purpose="unbalanced")

    assert len(model.requests) == 3
    assert _failures("invalid_json", "unbalanced") == 3


async def test_invalid_then_valid_succeeds(model: ScriptedModel) -> None:
    model.script(Reply(content="no json here"), Reply(content=json.dumps(GOOD)))

    question = await _ask(_client(model))

    assert question.text == GOOD["text"]
    assert len(model.requests) == 2


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(content='{"text": "Tell me', finish_reason="length"), "length"),
        (Reply(content=None, finish_reason="length"), "length"),
        (Reply(content=None, finish_reason="stop"), "empty"),
        (Reply(content="", finish_reason="stop"), "empty"),
        (Reply(content=json.dumps({"text": "x", "difficulty": 9})), "schema"),
    ],
    ids=["length-cut", "length-empty", "stop-none", "stop-empty", "out-of-range"],
)
async def test_unusable_reply_is_counted_by_reason(
    model: ScriptedModel, reply: Reply, reason: str
) -> None:
    purpose = f"reject-{reason}-{id(reply)}"
    model.script(reply)

    with pytest.raises(GenerationFailed):
        await _ask(_client(model, attempts=2), purpose=purpose)

    assert _failures(reason, purpose) == 2


async def test_provider_errors_are_retried(model: ScriptedModel) -> None:
    model.script(Reply(status=500), Reply(status=503), Reply(content=json.dumps(GOOD)))

    question = await _ask(_client(model, attempts=3))

    assert question.difficulty == 3
    assert len(model.requests) == 3


async def test_hanging_provider_times_out(model: ScriptedModel) -> None:
    model.script(Reply(content=json.dumps(GOOD), delay=5))

    with pytest.raises(GenerationFailed):
        await _ask(_client(model, attempts=2, timeout=0.5), purpose="hang")

    assert _failures("timeout", "hang") == 2


async def test_check_rejects_then_accepts(model: ScriptedModel) -> None:
    model.script(
        Reply(content=json.dumps({"text": "Unrelated", "difficulty": 2})),
        Reply(content=json.dumps(GOOD)),
    )

    def mentions_git(question: Question) -> None:
        if "git" not in question.text:
            raise OutputRejected("check", "question does not mention git")

    question = await _client(model).complete_json(
        purpose="check", system="s", user="u", output=Question, check=mentions_git
    )

    assert "git" in question.text
    assert len(model.requests) == 2


async def test_request_asks_for_json_at_temperature_zero(model: ScriptedModel) -> None:
    model.script(Reply(content=json.dumps(GOOD)))

    await _ask(_client(model))

    sent = model.requests[0]
    assert sent["temperature"] == 0
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["messages"][0]["role"] == "system"
