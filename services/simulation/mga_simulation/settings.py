from datetime import timedelta

from pydantic import Field

from mga_llm.settings import SANDBOX_MODEL, LanguageModelSettings

__all__ = ["SANDBOX_MODEL", "SimulationSettings"]


class SimulationSettings(LanguageModelSettings):
    http_port: int = Field(default=8083, ge=0, le=65535)
    # Base of the candidate links that the invitation service sends; a link outside it is
    # logged as a configuration mismatch.
    public_base_url: str = "http://127.0.0.1:8083"

    # Panelists per interview.
    panel_size: int = Field(default=3, ge=1, le=6)
    # How often started interviews past their deadline are looked for and finished.
    session_sweep_interval: timedelta = timedelta(seconds=15)
    # Time after the deadline before the sweep finishes an interview, so that an answer sent
    # in the last seconds is still handled by its own request.
    deadline_grace: timedelta = timedelta(seconds=60)
    # How often the outbox is swept for events whose first publish failed. Every write
    # publishes its events at once, so the sweep only catches broker outages; each sweep is a
    # query over the collection, which FerretDB answers by scanning it.
    outbox_sweep_interval: timedelta = timedelta(seconds=15)
