"""The typer application and the entry point that turns user errors into one line."""

from __future__ import annotations

import sys

import typer

from stridekit.errors import StrideError
from stridekit.experiments.signals import Terminated
from stridekit.version import __version__

app = typer.Typer(
    name="stridekit",
    help="The stride toolkit for convolutional networks.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(asked: bool) -> None:
    if asked:
        print(f"stridekit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """The stride toolkit for convolutional networks."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print one line on stderr and return 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="stridekit", standalone_mode=False)
    except typer.Exit as stop:
        return int(stop.exit_code)
    except typer.Abort as stop:
        if isinstance(stop.__cause__, Terminated):  # SIGTERM during a sweep
            print("stridekit: terminated", file=sys.stderr)
            return 143
        print("stridekit: aborted", file=sys.stderr)
        return 130
    except typer.TyperException as error:  # usage errors: unknown option, bad value
        if debug:
            raise
        if type(error).__name__ == "NoArgsIsHelpError":
            command.main(args=[*args, "--help"], prog_name="stridekit", standalone_mode=False)
            return 2
        message = " ".join(error.format_message().split())
        print(f"stridekit: error: {message}", file=sys.stderr)
        return 2
    except StrideError as error:
        if debug:
            raise
        message = " ".join(str(error).split())
        print(f"stridekit: error: {message}", file=sys.stderr)
        return 2
    # without standalone mode click returns the code a command exits with (typer.Exit)
    return code if isinstance(code, int) else 0
