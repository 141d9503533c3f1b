"""Write a measured ``target_invocations_per_instance`` into an environment's YAML: one line
edited in place (value and a comment saying when and on what it was measured), the rest of
the file and its comments untouched, and the result validated before it is kept."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from deploy_tools.capacity.plan import CapacityError
from serving_config import ENVIRONMENTS_DIR, available_environments, load_settings
from serving_config.capacity import CapacitySettings  # noqa: F401 - the section it measures

_SECTION = re.compile(r"^scaling:\s*(#.*)?$")
_LINE = re.compile(r"^(?P<indent>[ ]+)target_invocations_per_instance:[^\n]*$")


def edited(text: str, target: int, comment: str) -> str:
    """``text`` with the scaling section's target line replaced."""
    lines = text.splitlines(keepends=True)
    in_scaling = False
    for i, line in enumerate(lines):
        if not line.startswith((" ", "#", "\n")):
            in_scaling = bool(_SECTION.match(line.rstrip("\n")))
            continue
        match = _LINE.match(line.rstrip("\n"))
        if in_scaling and match:
            safe = comment.replace("\n", " ")
            lines[i] = f"{match['indent']}target_invocations_per_instance: {target}  # {safe}\n"
            return "".join(lines)
    raise CapacityError(
        "--write-config: the file has no scaling: section with a "
        "target_invocations_per_instance line to update"
    )


def write_target(env: str, target: int, comment: str, directory: Path = ENVIRONMENTS_DIR) -> Path:
    if env not in available_environments(directory):
        raise CapacityError(f"--write-config: no environment {env!r} in {directory}")
    path = directory / f"{env}.yaml"
    text = edited(path.read_text(encoding="utf-8"), target, comment)
    with tempfile.TemporaryDirectory() as scratch:  # the edited file must still load
        Path(scratch, path.name).write_text(text, encoding="utf-8")
        settings = load_settings(env, Path(scratch))
    assert (
        settings.scaling is not None and settings.scaling.target_invocations_per_instance == target
    )
    path.write_text(text, encoding="utf-8")
    return path
