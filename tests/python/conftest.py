"""Shared fixtures of the Python suite (run by ctest as python_pytest; see CMakeLists.txt).

ctest sets EMBER_LIBRARY (the libember of the build tree), PYTHONPATH (python/ of the
source tree), EMBER_CLI (the ember program) and EMBER_ADULT (the shared Adult data). Run by
hand from the repository root:
    EMBER_LIBRARY=build-test/lib/libember.so PYTHONPATH=python python3 -m pytest tests/python

Backends: every test taking `backend` runs on the CPU and OpenCL, and on CUDA when a GPU is
usable. OpenCL skips with the reason when no device is found, unless EMBER_REQUIRE_OPENCL=1
(CI), where that is a failure; CUDA skips with the reason (e.g. "no CUDA plugin").
"""

import os
import sys

import pytest

try:
    import ember  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
    import ember  # noqa: F401


def _usable(name):
    devs = ember.devices(name)
    ok = any(d.usable for d in devs)
    return ok, "; ".join(d.reason for d in devs if d.reason) or "no device"


def require_backend(name):
    """Returns `name` when the backend has a usable device here; else skips with the reason
    (fails for the CPU, and for OpenCL when EMBER_REQUIRE_OPENCL=1)."""
    ok, reason = _usable(name)
    if not ok:
        if name == "opencl" and os.environ.get("EMBER_REQUIRE_OPENCL") == "1":
            pytest.fail(f"EMBER_REQUIRE_OPENCL=1 but OpenCL has no usable device: {reason}")
        if name == "cpu":
            pytest.fail(f"the CPU backend is not usable: {reason}")
        pytest.skip(f"{name}: {reason}")
    return name


@pytest.fixture(params=["cpu", "opencl", "cuda"])
def backend(request):
    """The name of a backend that has a usable device here."""
    return require_backend(request.param)


@pytest.fixture(params=["opencl", "cuda"])
def device_backend(request):
    """The same for the backends whose memory ember can check (not the CPU's)."""
    return require_backend(request.param)


@pytest.fixture
def ctx(backend):
    c = ember.Context(backend)
    if backend == "cpu":
        c.set_threads(2)
    return c
