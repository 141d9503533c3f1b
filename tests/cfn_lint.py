"""cfn-lint for the tests, its rules loaded once per region list for the session.

``cfnlint.api.lint(text, config=ManualArgs(regions=...))`` builds a new runner, and so loads
every rule and the data files some rules read, on each call (about 0.4 s); the suite lints
some twenty templates. One runner per region list checks them all, as ``cfn-lint`` itself
does for the several templates of one command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any


def lint(template_text: str, regions: Sequence[str]) -> list[Any]:
    """The matches ``cfnlint.api.lint(template_text, config=ManualArgs(regions=regions))``
    returns."""
    from cfnlint.decode.decode import decode_str

    template, errors = decode_str(template_text)
    if errors:
        return list(errors)
    if template is None:
        return []
    return list(_runner(tuple(regions)).validate_template(template))


@cache
def _runner(regions: tuple[str, ...]) -> Any:
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(regions=list(regions))))
