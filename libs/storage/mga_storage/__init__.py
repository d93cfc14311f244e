"""MongoDB client creation, index set-up and the processed-event inbox."""

from mga_storage.mongo import Document, IndexSpec, create_client, ensure_indexes, ping

__all__ = ["Document", "IndexSpec", "create_client", "ensure_indexes", "ping"]
