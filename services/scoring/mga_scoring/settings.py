from datetime import timedelta

from pydantic import Field, SecretStr

from mga_core.settings import ServiceSettings

SANDBOX_MODEL = "sandbox"


class ScoringSettings(ServiceSettings):
    http_port: int = Field(default=8084, ge=0, le=65535)
    # "sandbox" scores every interview with the deterministic scorer; any other value is a
    # litellm model name (such as "openai/gpt-4o-mini") used for live-mode interviews.
    llm_model: str = SANDBOX_MODEL
    llm_api_base: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: timedelta = timedelta(seconds=60)
    # Calls per scoring attempt; the consumer's delayed retries come on top.
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    outbox_sweep_interval: timedelta = timedelta(seconds=2)
