"""The grader's Robot Framework listener: every test states its requirement with its values.

A row of a data-driven table has no documentation of its own: its requirement is its
template keyword's, such as ``A new client sends ``message`` and gets exactly ``reply``.``
Robot Framework fills ``${…}`` in documentation but keeps a row's values as written, so
they are resolved here, while the row runs, and put in place of the argument names:
``A new client sends ``'1\\n'`` and gets exactly ``'please go out!'``.`` The filled text
becomes the test's documentation in output.xml (and report.html), where the grader reads
it. A test with documentation of its own keeps it. The grader runs ``robot`` with
``--listener grading.listener.Requirements``.
"""

from __future__ import annotations

import re

from robot import result as results
from robot import running
from robot.errors import DataError
from robot.libraries.BuiltIn import BuiltIn

from SocketLibrary.display import quote

_NAMED = re.compile(r"``(\w+)``")


class Requirements:
    ROBOT_LISTENER_API_VERSION = 3

    def start_user_keyword(
        self, data: running.Keyword, implementation: running.UserKeyword, result: results.Keyword
    ) -> None:
        test = data.parent
        row = isinstance(test, running.TestCase) and test.template and data.type == data.KEYWORD
        if not row or not isinstance(result.parent, results.TestCase) or result.parent.doc:
            return  # a test's setup or teardown, a keyword of a keyword, or a documented test
        values = row_values(list(data.args), list(implementation.args.positional))
        result.parent.doc = _NAMED.sub(
            lambda match: f"``{values[match[1]]}``" if match[1] in values else match[0],
            result.doc,  # the keyword's documentation, its ${…} already filled
        )


def row_values(args: list[str], names: list[str]) -> dict[str, str]:
    """Each argument name with the row's value, resolved and shown with visible whitespace."""
    values: dict[str, object] = {}
    for position, arg in enumerate(args):
        name, equals, value = arg.partition("=")
        if equals and name in names:
            values[name] = value
        elif position < len(names):
            values[names[position]] = arg
    return {name: shown(value) for name, value in values.items()}


def shown(written: object) -> str:
    try:
        value = BuiltIn().replace_variables(written)
    except DataError:  # a variable this run does not know: show it as written
        value = written
    return quote(value) if isinstance(value, str) else str(value)
