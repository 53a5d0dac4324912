"""requirements.lock: what `make install` installs. It pins every dependency pyproject.toml names, holds no
CUDA package (torch is resolved as the CPU build and installed first, pinned), and is current."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", re.M)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {_norm(name): version for name, version in PIN.findall(text)}


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0] for spec in specs]


def test_the_lock_pins_every_declared_dependency_but_torch() -> None:
    locked = _locked()
    missing = [name for name in _declared() if _norm(name) != "torch" and _norm(name) not in locked]
    assert missing == []
    assert "torch" not in locked  # installed first, pinned, by the Makefile


def test_the_lock_pulls_no_cuda_build() -> None:
    cuda = [name for name in _locked() if name.startswith(("nvidia-", "triton"))]
    assert cuda == []


def test_exact_pins_in_pyproject_agree_with_the_lock() -> None:
    locked = _locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"] + project["optional-dependencies"]["dev"]:
        match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)$", spec)
        if match and _norm(match[1]) != "torch":
            assert locked[_norm(match[1])] == match[2], spec


def test_make_install_puts_pinned_torch_first_then_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    torch = makefile.index("pip install --quiet torch==$(TORCH)")
    lock = makefile.index("pip install --quiet -r requirements.lock")
    project = makefile.index("pip install --quiet --no-deps -e .")
    assert torch < lock < project
    assert re.search(r"^TORCH \?= 2\.13\.0$", makefile, re.M)
