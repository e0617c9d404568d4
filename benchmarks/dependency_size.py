"""The runtime dependency set against the development one: how many packages each lock pins and how
much disk each installs (a fresh venv per lock, installed with uv from its cache; site-packages
measured). `python benchmarks/dependency_size.py [--before REV]` also measures the single lock of
an earlier commit (REV, e.g. the commit before the split) as the peer. Prints JSON; the README
records the figures."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"


def pins(text: str) -> set[str]:
    return {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", text, re.M)}


def installed_size(lock_text: str, where: Path) -> dict:
    lock = where / "requirements.txt"
    lock.write_text(lock_text)
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(UV), "pip", "install", "-q", "--python", str(python), "-r", str(lock)], check=True)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())
    return {"packages": len(pins(lock_text)), "site_packages_mb": round(size / 2**20)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git revision whose requirements.lock is the peer")
    args = parser.parse_args()
    locks = {
        "runtime (requirements.lock)": (ROOT / "requirements.lock").read_text(),
        "development (requirements-dev.lock)": (ROOT / "requirements-dev.lock").read_text(),
    }
    if args.before:
        old = subprocess.run(
            ["git", "show", f"{args.before}:requirements.lock"], cwd=ROOT, capture_output=True, text=True
        )
        locks[f"single lock before the split ({args.before})"] = old.stdout
    result = {}
    for label, text in locks.items():
        with tempfile.TemporaryDirectory() as tmp:
            result[label] = installed_size(text, Path(tmp))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
