"""The image's Python programs and its S2I scripts speak with the same prefixes."""

import os
import re

import say

from .conftest import ROOT


def test_the_bash_script_writes_the_prefixes_the_programs_write():
    """assemble-runtime stays in bash (root runs no Python over the build's files)."""
    with open(os.path.join(ROOT, "root", "usr", "libexec", "s2i", "assemble-runtime")) as f:
        text = f.read()
    written = dict(re.findall(r"^(log|die)\(\) \{ printf (?:-- )?'([^%']*)%s\\n'", text, re.M))
    assert written == {"log": say.STEP, "die": say.ERROR}


def test_each_line_is_one_write_with_its_prefix(capsys):
    say.step("Installing")
    say.warn("careful")
    say.error("broken")
    say.note("stopped")
    assert capsys.readouterr().err == ("---> Installing\nwhiskey: WARNING: careful\n"
                                       "whiskey: ERROR: broken\nwhiskey: stopped\n")
