"""The tests' fake push service (tests/fakepush.py) in a process of its own, for the bench.

    python bench/pushservice.py N

Prints one JSON line, {"origin", "subscriptions": [N subscriptions]}, then answers each line
on stdin: "count" prints how many messages it accepted (checked and decrypted) and
"errors" how many failed their checks; end of input stops it. Its own process, and it
checks and decrypts what it received only when asked (FakePushService's check_later), once
the senders' clock has stopped: a real push service does that work on its own machines, and
here it would take the very cores the senders are measured on. While they send, it only
reads each request and answers 201.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakepush import FakePushService


def main() -> None:
    count = int(sys.argv[1])
    with FakePushService(check_later=True) as service:
        subscriptions = [service.subscription(f"b{n}").json for n in range(count)]
        print(json.dumps({"origin": service.origin, "subscriptions": subscriptions}), flush=True)
        accepted = 0
        for line in sys.stdin:
            if line.strip() == "count":
                accepted += sum(1 for message in service.take() if message.status == 201)
                print(accepted, flush=True)
            elif line.strip() == "errors":
                service.settle()
                print(len(service.errors), flush=True)


if __name__ == "__main__":
    main()
