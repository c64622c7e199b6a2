"""The genre layer's user-facing error (kept import-light: the CLI imports it at start-up)."""

from __future__ import annotations


class GenreError(Exception):
    """A pack that cannot be used, or an unknown genre; the message is one line per problem."""

    exit_code = 2

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else problems
        super().__init__("; ".join(self.problems))
