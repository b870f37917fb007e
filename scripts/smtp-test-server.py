#!/usr/bin/env python3
"""A real SMTP server for Mercato's tests (aiosmtpd).

Usage: smtp-test-server.py --dir DIR [--port N] [--host 127.0.0.1]

Listens on host:port (port 0 picks a free one) and prints "PORT <n>" on stdout once it
accepts connections. Each accepted message is written to DIR as <n>.eml and <n>.json (from,
to, subject, headers, text, html), the JSON last, so a reader that sees the JSON sees the
whole message.

Failures, for retry tests, are read from DIR/control.json before every recipient (so a test
can change them while the server runs):
  {"tempfail_first": N}   answer 451 to the first N RCPT commands
  {"reject": ["a@x"]}     answer 550 to RCPT of these addresses (case-insensitive)
  {"reject_sender": true} answer 550 5.1.8 to every MAIL FROM
The environment variables SMTP_TEST_TEMPFAIL_FIRST and SMTP_TEST_REJECT (comma-separated) set
the same from the start.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.tempfailed = 0

    def control(self):
        settings = {
            "tempfail_first": int(os.environ.get("SMTP_TEST_TEMPFAIL_FIRST", "0") or 0),
            "reject": [a for a in os.environ.get("SMTP_TEST_REJECT", "").split(",") if a],
        }
        try:
            with open(os.path.join(self.directory, "control.json")) as f:
                settings.update(json.load(f))
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:
            print(f"control.json unreadable: {e}", file=sys.stderr, flush=True)
        return settings

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.control().get("reject_sender"):
            return "550 5.1.8 Sender address rejected"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        settings = self.control()
        if self.tempfailed < int(settings.get("tempfail_first", 0)):
            self.tempfailed += 1
            return "451 4.3.0 Temporary failure, try again later"
        rejected = {a.lower() for a in settings.get("reject", [])}
        if address.lower() in rejected:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = f"{self.count:06d}"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        with open(os.path.join(self.directory, name + ".eml"), "wb") as f:
            f.write(raw)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text, html = "", ""
        for part in message.walk():
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            if kind == "text/plain" and not text:
                text = part.get_content()
            elif kind == "text/html" and not html:
                html = part.get_content()
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "headers": [[k, str(v)] for k, v in message.items()],
            "text": text,
            "html": html,
        }
        partial = os.path.join(self.directory, name + ".json.tmp")
        with open(partial, "w") as f:
            json.dump(summary, f)
        os.replace(partial, os.path.join(self.directory, name + ".json"))
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    port = args.port
    if port == 0:
        import socket

        with socket.socket() as s:
            s.bind((args.host, 0))
            port = s.getsockname()[1]
    controller = Controller(Handler(args.dir), hostname=args.host, port=port)
    controller.start()
    print(f"PORT {port}", flush=True)

    stop = asyncio.new_event_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.call_soon_threadsafe(done.set))
    try:
        stop.run_until_complete(done.wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
