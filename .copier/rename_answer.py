"""Copier migration: rename an answer in a project's answers file before `copier update` reads it.

A release that renames a question lists it in copier.yml so projects made before keep their answer:

    _migrations:
      - version: v0.2.0
        when: "{{ _stage == 'before' }}"
        command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/.copier/rename_answer.py",
                  "{{ _copier_conf.answers_file }}", OLD_NAME, NEW_NAME]

Only the key changes (line-based, so comments and order stay); a project that has no OLD_NAME
answer (the question did not apply to it) is left alone.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def rename_answer(answers_file: Path, old: str, new: str) -> bool:
    text = answers_file.read_text(encoding="utf-8")
    if re.search(rf"^{re.escape(new)}:", text, flags=re.MULTILINE):
        if re.search(rf"^{re.escape(old)}:", text, flags=re.MULTILINE):
            raise SystemExit(f"{answers_file}: both {old!r} and {new!r} are answered; keep one and retry")
        return False
    renamed, count = re.subn(rf"^{re.escape(old)}:", f"{new}:", text, flags=re.MULTILINE)
    if count:
        answers_file.write_text(renamed, encoding="utf-8")
    return bool(count)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: rename_answer.py ANSWERS_FILE OLD_NAME NEW_NAME")
    path, old_name, new_name = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    changed = rename_answer(path, old_name, new_name)
    done = f"answer {old_name!r} renamed to {new_name!r}" if changed else f"no {old_name!r} answer"
    print(f"{path}: {done}")
