"""whiskey: S2I builder images for Python web apps; ./build.py is its command line."""


class UsageError(ValueError):
    """Bad input (an argument, the matrix, a setting's value): the message names it; exit 2."""
