"""AMQP header names the platform sets on its messages."""

CORRELATION_ID = "x-mga-correlation-id"
EVENT_TYPE = "x-mga-event-type"
# How many times this message has been attempted before; our own count, because the
# broker's x-death count is not reliable across RabbitMQ versions.
ATTEMPT = "x-mga-attempt"
DEAD_LETTER_REASON = "x-mga-dead-letter-reason"
