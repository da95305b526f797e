"""Error types that the CLI turns into one-line messages and exit codes."""


class ClevrliteError(Exception):
    """A runtime failure the user can act on (exit code 1): a message, never a traceback."""

    exit_code = 1


class UsageError(ClevrliteError):
    """Bad input from the user (exit code 2): names the problem and the fix."""

    exit_code = 2


class PlacementError(ClevrliteError):
    """Placement could not satisfy the rules within its bounded tries."""


class GLUnavailableError(ClevrliteError):
    """No OpenGL context could be made; the message names the packages to install."""


def needs_extra(what: str, extra: str) -> str:
    """The message for a missing optional library: clevrlite is installed from its clone (it
    is on no package index), so the fix is the extra installed there."""
    return f"{what}: run pip install -e '.[{extra}]' in the clevrlite clone"
