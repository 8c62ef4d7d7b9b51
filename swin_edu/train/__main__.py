"""``python -m swin_edu.train``: the command line (:mod:`swin_edu.train_cli`), which imports the library
(:mod:`swin_edu.train`); the library never imports it."""
import sys

from swin_edu.train_cli import run_from_command_line

sys.exit(run_from_command_line())
