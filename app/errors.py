"""Errors a user can cause. The CLI prints their message on one line; the GUI shows a dialog."""


class CrescentError(Exception):
    """A failure with a message meant for the user (exit status 1)."""

    exit_status = 1


class InputError(CrescentError):
    """Bad input: a file, attribute or value the user gave us is wrong (exit status 2).

    The message names the file, the attribute and the value.
    """

    exit_status = 2
