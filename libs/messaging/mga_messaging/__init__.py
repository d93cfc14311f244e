"""RabbitMQ messaging: topology, confirmed publishing, consuming, request/reply, outbox."""
