from datetime import timedelta

from pydantic import Field

from mga_llm.settings import SANDBOX_MODEL, LanguageModelSettings

__all__ = ["SANDBOX_MODEL", "ScoringSettings"]


class ScoringSettings(LanguageModelSettings):
    http_port: int = Field(default=8084, ge=0, le=65535)

    # How often the outbox is swept for events whose first publish failed. Every write
    # publishes its events at once, so the sweep only catches broker outages; each sweep is a
    # query over the collection, which FerretDB answers by scanning it.
    outbox_sweep_interval: timedelta = timedelta(seconds=15)
