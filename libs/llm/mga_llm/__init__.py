"""The platform's language-model adapter."""

from mga_llm.client import JsonModel, LiteLlmClient, LlmSettings, OutputRejected, parse_reply
from mga_llm.json_output import InvalidJsonOutput, extract_json_object

__all__ = [
    "InvalidJsonOutput",
    "JsonModel",
    "LiteLlmClient",
    "LlmSettings",
    "OutputRejected",
    "extract_json_object",
    "parse_reply",
]
