"""A sidecar script's command line: its positional arguments, and any failure as one line."""

import sys


def run(main, usage, import_failure="a module does not import"):
    """Calls `main(*arguments)`; `usage` is "script.py ARG ..." (it gives the count)."""
    if len(sys.argv) != len(usage.split()):
        raise SystemExit(f"usage: {usage}")
    try:
        main(*sys.argv[1:])
    except ImportError as e:
        raise SystemExit(f"error: {import_failure} ({e})") from None
    except Exception as e:  # noqa: BLE001 - one line for the caller.
        raise SystemExit(f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
