"""Fault injection for the reliability tests, loaded by a subprocess whose PYTHONPATH starts with
this folder (tests only; the project's code has no fault hooks).

ANDAMIO_FAULT=module:function     the function to break, e.g. ml.promotion:decide
ANDAMIO_FAULT_FAILURES=N|always   how many of its first calls raise (default: always)
ANDAMIO_FAULT_SKIP=N              calls that pass before those (default: 0)
ANDAMIO_FAULT_LOG=path            one line appended per call: "raised" or "passed"
"""

import functools
import importlib
import os


def _install() -> None:
    target = os.environ.get("ANDAMIO_FAULT")
    if not target:
        return
    module_name, _, name = target.partition(":")
    module = importlib.import_module(module_name)
    original = getattr(module, name)
    budget = os.environ.get("ANDAMIO_FAULT_FAILURES", "always")
    skip = int(os.environ.get("ANDAMIO_FAULT_SKIP", "0"))
    log = os.environ["ANDAMIO_FAULT_LOG"]

    @functools.wraps(original)
    def broken(*args, **kwargs):
        with open(log, "a+", encoding="utf-8") as out:
            out.seek(0)
            calls = len(out.read().splitlines())
            fail = calls >= skip and (budget == "always" or calls - skip < int(budget))
            out.write("raised\n" if fail else "passed\n")
        if fail:
            raise RuntimeError(f"injected fault in {target} (call {calls + 1})")
        return original(*args, **kwargs)

    setattr(module, name, broken)


_install()
