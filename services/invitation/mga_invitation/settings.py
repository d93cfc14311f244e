from datetime import timedelta

from pydantic import Field

from mga_core.settings import ServiceSettings


class InvitationSettings(ServiceSettings):
    http_port: int = Field(default=8081, ge=0, le=65535)
    # Base of the candidate links; the hosted interview page answers at /invite/<token>.
    public_base_url: str = "http://127.0.0.1:8083"
    # How often pending invitations past their expiresAt are looked for.
    expiry_sweep_interval: timedelta = timedelta(seconds=10)
    # How often the outbox is swept for events whose first publish failed. Every write
    # publishes its events at once, so the sweep only catches broker outages; each sweep is a
    # query over the collection, which FerretDB answers by scanning it.
    outbox_sweep_interval: timedelta = timedelta(seconds=15)
