"""Shared pytest configuration: the ``--update-golden`` flag and paths to bundled files."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "workloads"
HWCONFIGS = ROOT / "hwconfigs"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite golden files in tests/golden/ from the current code.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def one_torch_thread():
    """Small tensors: a single intra-op torch thread is much faster on a shared 2-core machine
    (test modules of the reference model use it: ``pytest.mark.usefixtures``)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_data():
    """256 training and 96 test digits at 8x8."""
    from accelsim.reference.data import ImageData, load_data

    d = load_data("digits", 8)
    return ImageData("digits", 10, d.train_x[:256], d.train_y[:256], d.test_x[:96],
                     d.test_y[:96])
