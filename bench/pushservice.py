"""The tests' fake push service (tests/fakepush.py) in a process of its own, for the bench.

    python bench/pushservice.py N

Prints one JSON line, {"origin", "subscriptions": [N subscriptions]}, then answers each line
on stdin: "count" prints how many messages it accepted (checked and decrypted) and
"errors" how many it refused; end of input stops it. Its own process, so that decrypting
what the senders send is not charged to them (it still shares the machine's cores).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakepush import FakePushService


def main() -> None:
    count = int(sys.argv[1])
    with FakePushService() as service:
        subscriptions = [service.subscription(f"b{n}").json for n in range(count)]
        print(json.dumps({"origin": service.origin, "subscriptions": subscriptions}), flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                print(len(service.messages()), flush=True)
            elif line.strip() == "errors":
                print(len(service.errors), flush=True)


if __name__ == "__main__":
    main()
