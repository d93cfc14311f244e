from datetime import timedelta

from pydantic import Field, SecretStr

from mga_core.settings import ServiceSettings

# The value of MGA_LLM_MODEL that selects the deterministic scripted engine instead of a model.
SANDBOX_MODEL = "sandbox"


class SimulationSettings(ServiceSettings):
    http_port: int = Field(default=8083, ge=0, le=65535)
    # Base of the candidate links that the invitation service sends; a link outside it is
    # logged as a configuration mismatch.
    public_base_url: str = "http://127.0.0.1:8083"

    # "sandbox" runs every interview on the deterministic engine; any other value is a litellm
    # model name (such as "openai/gpt-4o-mini") used for live-mode invitations.
    llm_model: str = SANDBOX_MODEL
    llm_api_base: str | None = None
    llm_api_key: SecretStr | None = None
    # Maximum time one model call may take before it counts as a failed attempt.
    llm_timeout: timedelta = timedelta(seconds=60)
    # Attempts of one generation, the first included, before the candidate sees a failure.
    llm_max_attempts: int = Field(default=3, ge=1, le=10)

    # Panelists per interview.
    panel_size: int = Field(default=3, ge=1, le=6)
    # How often started interviews past their deadline are looked for and finished.
    session_sweep_interval: timedelta = timedelta(seconds=15)
    # Time after the deadline before the sweep finishes an interview, so that an answer sent
    # in the last seconds is still handled by its own request.
    deadline_grace: timedelta = timedelta(seconds=60)
    # How often the outbox is swept for events whose first publish failed.
    outbox_sweep_interval: timedelta = timedelta(seconds=2)
