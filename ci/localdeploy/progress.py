"""Progress lines with elapsed seconds, so a slow first run never looks hung."""

import sys
import time


class Progress:
    def __init__(self, prefix: str = "dev", stream=None, quiet: bool = False):
        self.prefix = prefix
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, step: str, message: str) -> None:
        if self.quiet:
            return
        line = f"[{self.prefix} {self.elapsed():6.1f}s] {step}: {message}"
        print(line, file=self.stream, flush=True)
