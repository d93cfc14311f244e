"""Settings of services that call a language model, and the client they configure."""

from datetime import timedelta

from pydantic import Field, SecretStr

from mga_core.settings import ServiceSettings
from mga_llm.client import LiteLlmClient, LlmSettings

# The value of MGA_LLM_MODEL that selects the deterministic sandbox instead of a model.
SANDBOX_MODEL = "sandbox"


class LanguageModelSettings(ServiceSettings):
    # "sandbox" runs everything on the deterministic engines; any other value is a litellm
    # model name (such as "openai/gpt-4o-mini") used for live-mode invitations.
    llm_model: str = SANDBOX_MODEL
    llm_api_base: str | None = None
    llm_api_key: SecretStr | None = None
    # Maximum time one model call may take before it counts as a failed attempt.
    llm_timeout: timedelta = timedelta(seconds=60)
    # Attempts of one generation, the first included, before it fails.
    llm_max_attempts: int = Field(default=3, ge=1, le=10)

    def language_model(self) -> LiteLlmClient | None:
        """Return the configured client, or None when the sandbox model is selected."""
        if self.llm_model == SANDBOX_MODEL:
            return None
        return LiteLlmClient(
            LlmSettings(
                model=self.llm_model,
                api_base=self.llm_api_base,
                api_key=self.llm_api_key.get_secret_value() if self.llm_api_key else None,
                timeout_seconds=self.llm_timeout.total_seconds(),
                max_attempts=self.llm_max_attempts,
            )
        )
