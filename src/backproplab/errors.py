"""The one exception type the command line turns into a one-line message."""


class UsageError(ValueError):
    """A problem the user can fix: bad arguments, missing or damaged files.

    It is a ``ValueError`` so that library callers can catch bad input the usual way; the
    message names the problem and, where there is one, the fix.
    """
