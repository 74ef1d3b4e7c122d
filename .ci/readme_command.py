"""Print one of the two commands README.md gives (``run`` or ``test``).

README.md marks them with ``<!-- command:run -->`` / ``<!-- command:test -->`` before a
fenced block; CI and tests/test_readme.py execute exactly what a newcomer would paste.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def readme_command(name: str, readme: Path = Path(__file__).resolve().parents[1] / "README.md") -> str:
    text = readme.read_text()
    found = re.search(rf"<!-- command:{name} -->\s*```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    if found is None:
        raise SystemExit(f"README.md has no block marked <!-- command:{name} -->")
    # One command per line, run as a script under `bash -e` (a line may end in `&`).
    lines = [line.strip() for line in found.group(1).splitlines() if line.strip() and not line.startswith("#")]
    return "\n".join(lines)


if __name__ == "__main__":
    print(readme_command(sys.argv[1]))
