"""Typed readers for settings that come from environment variables.

Settings never crash at import time on a bad value: the reader returns the default
and records the problem, and ``broadsheet.checks`` turns each recorded problem into a
Django system check error with an id, so ``manage.py check`` (and every command that
runs checks) says exactly which variable is wrong and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvProblem:
    name: str
    value: str
    message: str
    check_id: str


PROBLEMS: list[EnvProblem] = []


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _problem(name: str, value: str, message: str, check_id: str) -> None:
    PROBLEMS.append(EnvProblem(name, value, message, check_id))


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    _problem(name, value, "expected a boolean (true/false, 1/0, yes/no, on/off)", "broadsheet.E001")
    return default


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        _problem(name, value, "expected a whole number", "broadsheet.E002")
        return default
    if minimum is not None and number < minimum:
        _problem(name, value, f"must be at least {minimum}", "broadsheet.E002")
        return default
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        _problem(name, value, "expected a number", "broadsheet.E003")
        return default
    if minimum is not None and number < minimum:
        _problem(name, value, f"must be at least {minimum}", "broadsheet.E003")
        return default
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]
