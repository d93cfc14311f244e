"""SMTP server for local development that stores every message it receives as an .eml file.

Nothing is relayed. Each message is written unchanged (the bytes after DATA) to its own file
named <UTC timestamp>-<counter>.eml in the mail folder. The file is renamed into place once
complete, so a reader that lists the folder finds only complete messages.
"""

import argparse
import asyncio
import itertools
import logging
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger("smtp_catcher")


class EmlFolderHandler:
    """aiosmtpd handler that writes each message into one folder."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.counter = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # original_content is the DATA payload as bytes, before any decoding by aiosmtpd.
        content = envelope.original_content or b""

        timestamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.maildir / f"{timestamp}-{next(self.counter):06d}.eml"
        partial_path = path.with_name(f".{path.name}.partial")
        try:
            partial_path.write_bytes(content)
            os.replace(partial_path, path)
        except OSError:
            logger.exception("Failed to write message from %s to %s", envelope.mail_from, path)
            return "451 Requested action aborted: error in processing"

        logger.info(
            "Received message from %s for %d recipient(s), stored in %s",
            envelope.mail_from,
            len(envelope.rcpt_tos),
            path,
        )
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, maildir: Path) -> None:
    """Accept SMTP connections on host:port until SIGINT or SIGTERM."""
    handler = EmlFolderHandler(maildir)
    loop = asyncio.get_running_loop()
    # SMTPUTF8 is offered, not required: clients that do not use it are accepted as well.
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True),
        host=host,
        port=port,
    )

    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)

    logger.info("Listening on %s:%d, storing messages in %s", host, port, maildir)
    await stop.wait()

    logger.info("Stopping")
    server.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=1025, help="TCP port (default: 1025)")
    parser.add_argument(
        "--maildir",
        type=Path,
        required=True,
        help="folder for the .eml files; created if missing",
    )
    args = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # aiosmtpd logs every SMTP command at INFO; keep its warnings and errors only, so the log
    # has one line per message.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    args.maildir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.host, args.port, args.maildir))


if __name__ == "__main__":
    main()
