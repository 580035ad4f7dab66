"""A real SMTP server for kassa's message tests: aiosmtpd (PyPI), installed into a venv under
target/tools/ by scripts/test, which exports its python as KASSA_TEST_SMTPD.

    python tests/smtp/server.py --port PORT --user USER --password PASSWORD --out DIR

Listens on 127.0.0.1:PORT without TLS and requires AUTH (PLAIN or LOGIN) as USER/PASSWORD
(aiosmtpd's auth_require_tls=False); refuses mail from a session that did not authenticate. Each
message received is written, whole, as DIR/<n>.json: the envelope, the login and mechanism that
authenticated it, and the parsed headers (From, To, Subject, Message-ID) and text body (its transfer
encoding undone). Prints "ready" once it listens; runs until it is killed.
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import signal
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    # aiosmtpd warns of AUTH without TLS: that is what this local test server is for.
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    numbers = itertools.count(1)
    lock = threading.Lock()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        auth = {"mechanism": mechanism, "login": auth_data.login.decode()} if ok else None
        return AuthResult(success=ok, handled=False, auth_data=auth)

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            received = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "auth": session.auth_data,
                "from": str(parsed["From"]),
                "to": str(parsed["To"]),
                "subject": str(parsed["Subject"]),
                "message_id": str(parsed["Message-ID"]),
                "body": parsed.get_body(preferencelist=("plain",)).get_content(),
            }
            with lock:
                path = os.path.join(args.out, f"{next(numbers)}.json")
            with open(path + ".part", "w") as file:
                json.dump(received, file)
            os.rename(path + ".part", path)  # whole, or not there
            return "250 OK"

    controller = Controller(
        Keep(),
        hostname="127.0.0.1",
        port=args.port,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Event().wait()


if __name__ == "__main__":
    main()
