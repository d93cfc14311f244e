from datetime import timedelta

from pydantic import Field

from mga_llm.settings import SANDBOX_MODEL, LanguageModelSettings

__all__ = ["SANDBOX_MODEL", "ScoringSettings"]


class ScoringSettings(LanguageModelSettings):
    http_port: int = Field(default=8084, ge=0, le=65535)
    outbox_sweep_interval: timedelta = timedelta(seconds=2)
