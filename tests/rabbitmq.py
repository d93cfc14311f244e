"""Control of the local RabbitMQ node, for fault tests: restart it, cut connections."""

import subprocess


def _rabbitmqctl(*args: str, timeout: float = 60) -> str:
    result = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    return result.stdout


def stop_app() -> None:
    _rabbitmqctl("stop_app")


def start_app() -> None:
    _rabbitmqctl("start_app")
    _rabbitmqctl("await_startup", timeout=120)


def close_connections(connection_name: str) -> int:
    """Close every client connection whose connection_name is ``connection_name``."""
    listing = _rabbitmqctl(
        "list_connections", "pid", "client_properties", "--quiet", "--no-table-headers"
    )
    closed = 0
    for line in listing.splitlines():
        pid, _, properties = line.partition("\t")
        if f'{{"connection_name","{connection_name}"}}' not in properties:
            continue
        _rabbitmqctl("close_connection", pid, "closed by a fault test")
        closed += 1
    return closed
