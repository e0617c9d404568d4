"""Container images: build time and size of the offline base image, the runtime image (base +
requirements.lock, the container stack's parent image in the tests) and, given a Bento, the service
image (`runtime: container`). Not one of run_all.py's figures: it needs podman, runc and debootstrap
(`python -m stacks.containers`), and a cold run takes minutes of downloads. Prints one JSON object.

    .venv/bin/python benchmarks/container_images.py            # cached images count as 0 s builds
    .venv/bin/python benchmarks/container_images.py --cold     # remove them first: full build times
    .venv/bin/python benchmarks/container_images.py --bento scoring:TAG   # also the service image
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bentos import container_server  # noqa: E402
from stacks import containers  # noqa: E402


def timed(build) -> tuple[str, float]:
    started = time.monotonic()
    tag = build()
    return tag, round(time.monotonic() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="remove the cached images first (not the rootfs)")
    parser.add_argument(
        "--bento", help="a Bento tag in the BentoML store (BENTOML_HOME): build its image too"
    )
    args = parser.parse_args()
    engine = containers.Engine(containers.default_home()).prepare()
    base_tag = containers.base_image_tag(containers.debian_mirror())
    lock = ROOT / "requirements.lock"
    if args.cold:
        engine.run("rmi", "--force", base_tag, check=False)
    base, base_seconds = timed(lambda: containers.build_base_image(engine, log=lambda _: None))
    if args.cold:
        engine.run("rmi", "--force", containers.runtime_image_tag(base, lock), check=False)
    runtime, runtime_seconds = timed(
        lambda: containers.build_runtime_image(engine, base, lock, log=lambda _: None)
    )
    result = {
        "podman": engine.run("--version").stdout.strip(),
        "base_image": {
            "tag": base,
            "build_seconds": base_seconds,
            "size_mb": engine.image_size(base) // 10**6,
        },
        "runtime_image": {
            "tag": runtime,
            "build_seconds": runtime_seconds,
            "size_mb": engine.image_size(runtime) // 10**6,
        },
    }
    if args.bento:
        image, seconds = container_server.build_image(args.bento, "podman")
        result["service_image"] = {"tag": image, "build_seconds": round(seconds, 1),
                                   "size_mb": engine.image_size(image) // 10**6}  # fmt: skip
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
