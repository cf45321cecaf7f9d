"""A dependency-free progress bar for the CLI, written to stderr."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Redraws one stderr line; silent when stderr is not a terminal except for the last line."""

    def __init__(self, title: str, width: int = 30) -> None:
        self.title, self.width = title, width
        self.started = time.perf_counter()
        self.interactive = sys.stderr.isatty()
        self._last = -1.0

    def update(self, fraction: float, message: str = "") -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if not self.interactive:
            # Logs get a line per 10 % instead of carriage-return redraws.
            if fraction - self._last >= 0.1 or fraction >= 1.0:
                print(f"{self.title}: {fraction:4.0%} {message}", file=sys.stderr, flush=True)
                self._last = fraction
            return
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        print(f"\r{self.title} [{bar}] {fraction:4.0%} {elapsed:5.1f}s {message[:40]:<40}",
              end="", file=sys.stderr, flush=True)

    def done(self, message: str) -> None:
        if self.interactive:
            print(file=sys.stderr)
        print(message, file=sys.stderr, flush=True)
