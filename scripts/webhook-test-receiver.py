#!/usr/bin/env python3
"""A webhook receiver for the tests: verifies each request with the Standard Webhooks library.

    webhook-test-receiver.py --records FILE --secrets FILE --control FILE [--port 0]
                             [--fail N] [--fail-status 500] [--hang SECONDS] [--exit-with-stdin]

Listens on 127.0.0.1 (port 0: any free port) and prints `PORT <n>` once it listens. Every
request is checked with `standardwebhooks.Webhook(secret).verify(body, headers)` against each
secret in the secrets file (one `whsec_…` a line, re-read on every request, so a test writes it
after creating its endpoint) and appended to the records file as one JSON line: `webhook_id`,
`webhook_timestamp`, `type`, `verified`, `error`, `arrived_at` (Unix seconds), `status` (what
it answered), `path`, `payload` (the body as JSON, or null). A request no secret verifies is
answered 401; a verified one 200, unless told otherwise.

What to answer is changed by appending lines to the control file (polled every 50 ms):
  fail N [STATUS]   the next N requests are answered STATUS (default 500)
  hang SECONDS      wait this long before answering each request (0: stop hanging)
  down              close the listening socket (connections are refused) and drop requests
                    on connections kept alive from before, unanswered and unrecorded
  up                listen again on the same port
"""

import argparse
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class State:
    """What the receiver was told, shared by the request threads and the control poller."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.fail_left = args.fail
        self.fail_status = args.fail_status
        self.hang = args.hang
        self.records = args.records
        self.secrets = args.secrets
        # While down, requests on connections opened before are dropped unanswered too.
        self.down = False

    def answer(self):
        """The status and delay of the next request (consuming one forced failure)."""
        with self.lock:
            if self.fail_left > 0:
                self.fail_left -= 1
                return self.fail_status, self.hang
            return None, self.hang

    def record(self, entry):
        line = json.dumps(entry, sort_keys=True)
        with self.lock, open(self.records, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()

    def read_secrets(self):
        try:
            with open(self.secrets, encoding="utf-8") as f:
                return [s.strip() for s in f if s.strip()]
        except FileNotFoundError:
            return []


def verify(secrets, body, headers):
    """(verified, error): whether one of `secrets` verifies the request, else the last error."""
    if not secrets:
        return False, "no secret configured yet"
    error = ""
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers)
            return True, ""
        except Exception as e:  # the library raises its own WebhookVerificationError and others
            error = f"{type(e).__name__}: {e}"
    return False, error


def handler_for(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            arrived = time.time()
            if state.down:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, error = verify(state.read_secrets(), body, headers)
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            forced, hang = state.answer()
            status = forced or (200 if verified else 401)
            state.record({
                "webhook_id": headers.get("webhook-id"),
                "webhook_timestamp": headers.get("webhook-timestamp"),
                "type": payload.get("type") if isinstance(payload, dict) else None,
                "verified": verified,
                "error": error,
                "arrived_at": arrived,
                "status": status,
                "path": self.path,
                "payload": payload,
            })
            if hang > 0:
                time.sleep(hang)
            reply = json.dumps({"received": verified}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    return Handler


class Listener:
    """The HTTP server, which `down` closes and `up` opens again on the same port."""

    def __init__(self, state, port):
        self.state = state
        self.server = None
        self.port = port
        self.up()

    def up(self):
        if self.server is not None:
            return
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler_for(self.state))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None


def apply(command, state, listener):
    words = command.split()
    if not words:
        return
    with state.lock:
        if words[0] == "fail":
            state.fail_left = int(words[1])
            state.fail_status = int(words[2]) if len(words) > 2 else 500
        elif words[0] == "hang":
            state.hang = float(words[1])
    if words[0] == "down":
        state.down = True
        listener.down()
    elif words[0] == "up":
        listener.up()
        state.down = False


def poll_control(path, state, listener):
    """Applies each line appended to the control file, in order, forever, and writes how many
    it has applied to `<control>.applied`, so the test knows when a command took effect."""
    offset = 0
    applied = 0
    while True:
        try:
            with open(path, encoding="utf-8") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            chunk = ""
        complete = chunk[: chunk.rfind("\n") + 1]
        offset += len(complete.encode())
        for line in complete.splitlines():
            apply(line, state, listener)
            applied += 1
        if complete:
            with open(path + ".applied.new", "w", encoding="utf-8") as f:
                f.write(str(applied))
            os.replace(path + ".applied.new", path + ".applied")
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--records", required=True)
    parser.add_argument("--secrets", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--fail", type=int, default=0)
    parser.add_argument("--fail-status", type=int, default=500)
    parser.add_argument("--hang", type=float, default=0.0)
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="exit when standard input closes (the test harness's lifeline)")
    args = parser.parse_args()
    state = State(args)
    listener = Listener(state, args.port)
    threading.Thread(target=poll_control, args=(args.control, state, listener), daemon=True).start()
    print(f"PORT {listener.port}", flush=True)
    try:
        if args.exit_with_stdin:
            # The test harness holds our standard input: a test process that dies without
            # killing us closes it, and we go too.
            sys.stdin.read()
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
