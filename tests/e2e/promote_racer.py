"""`python -m tests.e2e.promote_racer MODEL VERSION AT`: sleep until the epoch time AT, then move
VERSION to production (registry.set_stage) — one side of the concurrent-promotion test."""

import sys
import time

from registry import models

if __name__ == "__main__":
    model, version, at = sys.argv[1], sys.argv[2], float(sys.argv[3])
    time.sleep(max(0.0, at - time.time()))
    models.set_stage(model, version, "production", "concurrent promotion test")
    print("promoted", version, flush=True)
