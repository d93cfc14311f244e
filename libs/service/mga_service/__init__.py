"""The process around a service's domain logic."""

from mga_service.runtime import ServiceRuntime, create_service_app

__all__ = ["ServiceRuntime", "create_service_app"]
