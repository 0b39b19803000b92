"""What the test folders and the benchmark share: the names the emulator is seeded with, the account the
provider signs in with, and how a child process finds this checkout.

The emulator fixtures themselves are in `tests/conftest.py`; `tests.support.engine` drives a dynamic provider
process the way the Pulumi engine does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

REGION = "eu-de"
DOMAIN = "OTC-EU-DE-00000000001000000042"
USER = "pipeline-user"
# Distinctive, so that a leak is easy to find in any text.
PASSWORD = "Zq7-Rel1ab1lity-PASSW0RD-k9Xw"
BUCKET = "audit-trail-bucket"
OTHER_BUCKET = "audit-trail-archive"
KMS_KEY = "2b4f0a34-9a4e-4f1c-8a7e-5d2c1e0f9b6a"


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with this checkout first on PYTHONPATH, so that a child
    Python imports the package, the tests' and the benchmark's modules from here."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env
