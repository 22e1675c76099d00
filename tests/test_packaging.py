"""The installed package needs only its runtime dependencies.

`make run` installs the package without the `dev` extra, so a module that imports
a development-only package (type stubs, test tools) would break a fresh laptop
while every test, run with the extra installed, stays green.
"""

import subprocess
import sys

# Top-level modules of the `dev` extra in pyproject.toml, and what they pull in.
DEVELOPMENT_ONLY = (
    "types_aiobotocore_s3",
    "types_aiobotocore_sqs",
    "boto3",
    "moto",
    "pytest",
    "schemathesis",
    "hypothesis",
    "mypy",
)

IMPORT_EVERY_MODULE = f"""
import importlib, pkgutil, sys
for name in {DEVELOPMENT_ONLY!r}:
    sys.modules[name] = None  # any import of it now raises ImportError
import aetherflow_gateway
for module in pkgutil.walk_packages(aetherflow_gateway.__path__, "aetherflow_gateway."):
    # Alembic's scripts run only inside a migration.
    if not module.name.startswith("aetherflow_gateway.migrations"):
        importlib.import_module(module.name)
"""


def test_every_module_imports_without_development_packages() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
