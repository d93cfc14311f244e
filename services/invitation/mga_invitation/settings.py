from datetime import timedelta

from pydantic import Field

from mga_core.settings import ServiceSettings


class InvitationSettings(ServiceSettings):
    http_port: int = Field(default=8081, ge=0, le=65535)
    # Base of the candidate links; the hosted interview page answers at /invite/<token>.
    public_base_url: str = "http://127.0.0.1:8083"
    # How often pending invitations past their expiresAt are looked for.
    expiry_sweep_interval: timedelta = timedelta(seconds=5)
    # How often the outbox is swept for events whose first publish failed.
    outbox_sweep_interval: timedelta = timedelta(seconds=2)
