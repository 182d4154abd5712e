"""`python -m kubesim`: the CLI (kubesim.harness.cli)."""

import sys

from kubesim.harness.cli import main

if __name__ == "__main__":
    sys.exit(main())
