#!/usr/bin/env python3
"""Checks of a running randapi's answers, for scripts/web.sh and scripts/container.sh, and the two
token helpers they need. Only the Python standard library.

    scripts/checks/api.py dev-token BASE          print an access token from BASE/dev/token (--dev)
    scripts/checks/api.py tamper TOKEN            print TOKEN with one signature character changed
    scripts/checks/api.py random-number BODY      BODY (a file) is exactly {"randomNumber": 0..=100}
    scripts/checks/api.py too-large BASE OPENAPI  request headers over 16 KiB get the documented 431
    scripts/checks/api.py har-statuses HAR CODE...
                                                  GET / answered each CODE during a schemathesis run

Why each one:
- random-number: the image built for Amplify must answer the API's one promise, not just any 200.
- too-large: schemathesis never sends over 16 KiB of headers, so the 431 answer of the OpenAPI document
  (components.responses.HeadersTooLarge) is compared here with the live answer, body included.
- har-statuses: schemathesis passes when every answer it saw conforms; it does not fail when a path
  was never reached. Reading its HAR report proves that the 200/401/403/503 answers were exercised.
"""

import collections
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from _check import check, ok, run


def dev_token(base):
    """A fresh access token from a --dev server (printed for the caller; never logged)."""
    with urllib.request.urlopen(base + "/dev/token", timeout=10) as response:
        return json.load(response)["access_token"]


def tamper(token):
    """One character in the middle of the signature changed (the last one may hold only padding
    bits, so changing it may not change the signature's bytes)."""
    i = len(token) - 10
    check(token.count(".") == 2 and i > token.rindex("."), "tamper: not a JWT with a signature")
    return token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]


def check_random_number(path):
    with open(path) as f:
        body = json.load(f)
    n = body.get("randomNumber") if isinstance(body, dict) else None
    check(isinstance(body, dict) and set(body) == {"randomNumber"} and isinstance(n, int)
          and not isinstance(n, bool) and 0 <= n <= 100, f"GET / body {body}")


def error_answer(url, headers):
    """(status, content type, body: parsed when it is JSON) of a request that must fail."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
    except urllib.error.HTTPError as error:
        kind, body = error.headers["Content-Type"], error.read()
        return error.code, kind, json.loads(body) if kind == "application/json" else body
    check(False, f"{url} did not fail")


def check_too_large(base, openapi_path):
    """Headers over 16 KiB get the documented JSON 431 (with CORS, so a browser can read it) while
    the head still fits hyper's 17 KiB read buffer; past the buffer hyper refuses the head itself
    with a bare 431, as the README says. Both bands are checked so neither can drift silently."""
    with open(openapi_path) as f:
        doc = json.load(f)
    example = doc["components"]["responses"]["HeadersTooLarge"]["content"]["application/json"]["example"]
    answer = error_answer(base + "/health", {"X-Padding": "a" * (16 * 1024 + 256)})
    check(answer == (431, "application/json", example),
          f"16.25 KiB of headers answered {answer}, documented (431, application/json, {example})")
    ok(f"431 {example} as documented in components.responses.HeadersTooLarge")
    status, kind, body = error_answer(base + "/health", {"X-Padding": "a" * (20 * 1024)})
    check((status, kind, body) == (431, None, b""),
          f"20 KiB of headers answered {status} {kind} {str(body)[:80]}, documented: hyper's bare 431")
    ok("431 without a body past hyper's 17 KiB read buffer, as documented")


def check_har_statuses(har_path, wanted):
    with open(har_path) as f:
        entries = json.load(f)["log"]["entries"]
    seen = collections.Counter()
    for entry in entries:
        request = entry["request"]
        path = urllib.parse.urlsplit(request["url"]).path
        seen[(request["method"], path, entry["response"]["status"])] += 1
    root = {status: n for (method, path, status), n in seen.items() if method == "GET" and path == "/"}
    print("    schemathesis requests by GET / status:", dict(sorted(root.items())))
    missing = [code for code in wanted if code not in root]
    check(not missing, f"GET / never answered {missing} during the schemathesis run")


def main(args):
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "dev-token" and len(rest) == 1:
        print(dev_token(rest[0]))
    elif command == "tamper" and len(rest) == 1:
        print(tamper(rest[0]))
    elif command == "random-number" and len(rest) == 1:
        check_random_number(rest[0])
    elif command == "too-large" and len(rest) == 2:
        check_too_large(*rest)
    elif command == "har-statuses" and len(rest) >= 2:
        check_har_statuses(rest[0], [int(code) for code in rest[1:]])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    run(main)
