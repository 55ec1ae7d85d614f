"""Shared set-up of the E2E tests: the import paths of tests/lib and the test
API server, the prerequisites (root, umoci, skopeo, docker-registry), and the
static agent under test."""
import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS / "server"))
sys.path.insert(0, str(TESTS / "lib"))

import oci_registry  # noqa: E402

if oci_registry.missing_prerequisites():
    pytest.fail("the E2E tests need " + oci_registry.missing_prerequisites(), pytrace=False)


@pytest.fixture(scope="session")
def agent_bin():
    path = os.environ.get("ELEMENTAL_AGENT_BIN") or str(TESTS.parent / "build/agent/elemental-agent")
    if not os.access(path, os.X_OK):
        pytest.fail(f"agent binary not found at {path}: build it with ./build.sh "
                    "or set ELEMENTAL_AGENT_BIN", pytrace=False)
    return path
