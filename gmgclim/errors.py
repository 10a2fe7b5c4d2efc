"""Exception types whose messages are shown to users as one clear line."""


class GmgclimError(Exception):
    """An error caused by user input (a file, key or value), with an optional hint.

    Parameters
    ----------
    message : str
        What is wrong, naming the file, variable or key and what was expected.
    hint : str, optional
        What to do about it, shown on a second line by the CLI.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class DataError(GmgclimError, ValueError):
    """Input data that cannot be read or does not match what a reader expects."""


class RecipeError(GmgclimError, ValueError):
    """A recipe (YAML) that does not validate."""


class CheckpointError(GmgclimError, ValueError):
    """A checkpoint file that is missing, corrupt or incompatible."""


class OutputPathError(GmgclimError, ValueError):
    """An output path that holds something gmgclim did not write (or must not replace)."""


def error_line(exc: BaseException) -> str:
    """The one line the CLI prints for ``exc``: its message, never a bare ``repr`` of a key.

    A ``KeyError`` that no check turned into a :class:`GmgclimError` stringifies as ``'name'``;
    it is shown as ``missing key 'name' (looked up in gmgclim.MODULE.FUNCTION)``, naming the
    innermost gmgclim function of its traceback.

    Parameters
    ----------
    exc : BaseException
        The error that reached the CLI.

    Returns
    -------
    str
        One line, without the ``error:`` prefix.
    """
    if isinstance(exc, KeyError) and not isinstance(exc, GmgclimError):
        key = exc.args[0] if exc.args else "?"
        where = _innermost_gmgclim_function(exc)
        # a KeyError carrying a sentence (xarray's "No variable named ...") is shown as it is
        text = key if isinstance(key, str) and " " in key.strip() else f"missing key {key!r}"
        return text + (f" (looked up in {where})" if where else "")
    return str(exc) or type(exc).__name__


def _innermost_gmgclim_function(exc: BaseException) -> str | None:
    """``gmgclim.evaluation.truth.open_truth`` for the deepest gmgclim frame of the traceback."""
    import traceback
    from pathlib import Path

    package = Path(__file__).resolve().parent
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if package in path.parents:
            module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
            found = f"{module}.{frame.name}"
    return found
