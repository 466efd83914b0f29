"""Figures the hardening suites measure (requests swept, inputs fuzzed, axe violations,
Lighthouse scores and weights), printed in a section at the end of every pytest run so CI
logs carry them. A pytest plugin: tests/conftest.py lists it in `pytest_plugins`."""

LINES: list[str] = []


def record(line: str) -> None:
    LINES.append(line)


def pytest_terminal_summary(terminalreporter) -> None:
    if LINES:
        terminalreporter.section("hardening figures")
        for line in LINES:
            terminalreporter.write_line(line)
