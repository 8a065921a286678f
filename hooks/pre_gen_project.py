"""Refuse invalid answers again, right before cookiecutter writes the project.

The rules (``template_answers``) already ran while cookiecutter collected the answers (the
``__answers_checked`` variable, see local_extensions.py), which refuses before anything is on
disk. This hook is the backstop for answers that skipped that step, such as an edited replay
file (``cookiecutter --replay-file``): each problem is one ``ERROR:`` line, the hook exits
non-zero and cookiecutter removes the folder it had just created.

Answers arrive as JSON data (``tojson`` into a raw string), never as code, whatever quotes,
backslashes or payloads they contain; so does the template's folder, where the rules live
(``answer_problems`` in local_extensions.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    # In a list: a raw string cannot start with the JSON string's own quote.
    template_dir = Path(json.loads(r"""[{{ template_dir | tojson }}]""")[0])
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    sys.path.insert(0, str(template_dir))
    from local_extensions import answer_problems

    errors = answer_problems(answers)
    for message in errors:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
