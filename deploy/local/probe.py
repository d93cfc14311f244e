"""Check once whether a local-stack server responds, for the wait loops in deploy/local.

Exits 0 if the server responds, 1 if it does not (the reason goes to stderr).
"""

import argparse
import asyncio
import smtplib
import socket
import sys
import urllib.request


def check_tcp(args: argparse.Namespace) -> None:
    """Raise OSError unless HOST:PORT accepts a TCP connection."""
    with socket.create_connection((args.host, args.port), timeout=args.timeout):
        pass


def check_amqp(args: argparse.Namespace) -> None:
    """Open and close an AMQP connection, which also checks the login in the URL."""
    import aio_pika

    async def connect_and_close() -> None:
        connection = await aio_pika.connect(args.url, timeout=args.timeout)
        await connection.close()

    asyncio.run(connect_and_close())


def check_mongodb(args: argparse.Namespace) -> None:
    """Send the MongoDB ping command."""
    import pymongo

    timeout_ms = int(args.timeout * 1000)
    client = pymongo.MongoClient(
        args.url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )
    try:
        client.admin.command("ping")
    finally:
        client.close()


def check_smtp(args: argparse.Namespace) -> None:
    """Read the SMTP greeting and send NOOP, which must return 250."""
    with smtplib.SMTP(args.host, args.port, timeout=args.timeout) as client:
        code, _ = client.noop()
        if code != 250:
            raise RuntimeError(f"NOOP returned {code}, expected 250")


def check_http(args: argparse.Namespace) -> None:
    """Send GET URL and require status 200."""
    with urllib.request.urlopen(args.url, timeout=args.timeout) as response:
        if response.status != 200:
            raise RuntimeError(f"GET {args.url} returned {response.status}, expected 200")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--timeout",
        type=float,
        default=1.0,
        help="seconds to wait for a connection and a response before failing (default: 1)",
    )
    checks = parser.add_subparsers(dest="check", required=True)

    tcp = checks.add_parser("tcp", help="HOST:PORT accepts a TCP connection")
    tcp.add_argument("host")
    tcp.add_argument("port", type=int)
    tcp.set_defaults(run=check_tcp)

    amqp = checks.add_parser("amqp", help="an AMQP 0-9-1 broker accepts a login")
    amqp.add_argument("url", help="for example amqp://guest:guest@127.0.0.1:5672/")
    amqp.set_defaults(run=check_amqp)

    mongodb = checks.add_parser("mongodb", help="a MongoDB-compatible server responds to ping")
    mongodb.add_argument("url", help="for example mongodb://127.0.0.1:27017")
    mongodb.set_defaults(run=check_mongodb)

    smtp = checks.add_parser("smtp", help="an SMTP server sends its greeting and accepts NOOP")
    smtp.add_argument("host")
    smtp.add_argument("port", type=int)
    smtp.set_defaults(run=check_smtp)

    http = checks.add_parser("http", help="GET URL returns status 200")
    http.add_argument("url", help="for example http://127.0.0.1:8080/readyz")
    http.set_defaults(run=check_http)

    return parser


def main() -> int:
    args = build_parser().parse_args()
    try:
        args.run(args)
    # Any failure means "not ready yet": socket, HTTP, SMTP, pymongo and aio-pika errors
    # have no common base class below Exception.
    except Exception as error:
        print(f"{args.check}: not ready: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
