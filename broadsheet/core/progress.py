"""A small progress line for long commands: redrawn in place on a terminal, sparse in logs."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.last_percent = -10

    def step(self, count: int = 1) -> None:
        self.done += count
        percent = 100 * self.done // max(self.total, 1)
        if self.tty:
            self.stream.write(f"\r{self.label}: {self.done}/{self.total} ({percent}%)")
            self.stream.flush()
        elif percent >= self.last_percent + 10 or self.done == self.total:
            self.last_percent = percent
            self.stream.write(f"{self.label}: {self.done}/{self.total} ({percent}%)\n")

    def finish(self) -> float:
        elapsed = time.monotonic() - self.started
        if self.tty:
            self.stream.write("\n")
        return elapsed
