"""Start moto's server with tenantctl's shims (tests/emulator/shims.py) and strict layer
(tests/emulator/strict.py).

    python tests/emulator/serve.py --host 127.0.0.1 --port 5000

Used by scripts/emulator. The shims are imported before the server handles its first
request; moto creates each service's routes lazily, so the added routes are picked up.
The strict layer is on unless TENANTCTL_EMULATOR_STRICT=0 (for debugging only).
"""

import argparse
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    # shims.py sits next to this file; scripts/emulator also puts this folder on PYTHONPATH.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import shims  # noqa: F401  (monkeypatches moto on import)

    if os.environ.get("TENANTCTL_EMULATOR_STRICT", "1") != "0":
        import strict  # noqa: F401  (monkeypatches moto on import; after the shims it wraps)

    from moto.server import main as moto_main

    # moto's own entry point: threaded werkzeug server with DomainDispatcherApplication,
    # SIGINT/SIGTERM exit cleanly.
    moto_main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
