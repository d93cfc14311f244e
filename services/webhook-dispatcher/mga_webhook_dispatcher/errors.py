"""Errors only the webhook dispatcher raises; the gateway receives them in wire form."""

from mga_core.errors import ApiError


class EndpointDisabled(ApiError):
    status = 409
    code = "endpoint_disabled"
    default_message = (
        "The webhook endpoint is disabled and receives no events. Register a new endpoint."
    )
