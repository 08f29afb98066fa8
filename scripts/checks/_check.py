"""What every check under scripts/checks/ shares: a failed assertion ends the run with exit 1 and
one line that says what was expected, in the format the shell scripts print (scripts/lib.sh)."""

import sys


class CheckFailed(Exception):
    """An assertion of a check did not hold; the message names what was expected."""


def check(condition, message):
    """Raises CheckFailed(message) unless condition holds."""
    if not condition:
        raise CheckFailed(message)


def ok(message):
    print(f"    ok: {message}")


def run(main):
    """Runs main(sys.argv[1:]); a CheckFailed becomes `FAIL: ...` on stderr and exit 1."""
    try:
        main(sys.argv[1:])
    except CheckFailed as failure:
        print(f"    FAIL: {failure}", file=sys.stderr)
        sys.exit(1)
