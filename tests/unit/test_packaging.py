"""Packaging: one version source, the license file, extras that declare what the code imports."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import runpy
import subprocess
import sys
import tomllib
import types
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import boxdrive_wsgi

from ..import_blocker import without_modules

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "boxdrive_wsgi"
#: Extras for developing and measuring, not for running the server.
DEV_EXTRAS = ("test", "bench")


def project() -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return table


def distribution_name(requirement: str) -> str:
    """``python-gitlab>=4.4`` -> ``python-gitlab`` (normalised as PEP 503 does)."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


@pytest.mark.filterwarnings("ignore:Support for `\\[tool.setuptools\\]`")  # setuptools < 68
def test_version_has_one_source() -> None:
    """pyproject takes the version from boxdrive_wsgi.__version__ (setuptools' attr)."""
    from setuptools.config.pyprojecttoml import read_configuration

    assert "version" not in project() and "version" in project()["dynamic"]
    expanded = read_configuration(ROOT / "pyproject.toml", expand=True)
    assert expanded["project"]["version"] == boxdrive_wsgi.__version__


def test_license_file_matches_the_declared_license() -> None:
    assert project()["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 boxdrive-wsgi contributors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # the parent is a module, not a package: ``name`` is an attribute
        return False


def imported_modules() -> set[str]:
    """Every absolute import in the package (lazy, function-level ones too), outside the
    standard library and the package itself: ``import a.b`` gives ``a.b``; ``from a import
    b`` gives ``a.b`` if that is a module (``from opentelemetry import trace``), else ``a``."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                top = node.module.partition(".")[0]
                if top in sys.stdlib_module_names or top == "_typeshed":
                    continue
                submodules = [f"{node.module}.{alias.name}" for alias in node.names]
                found.update(name for name in submodules if is_module(name))
                found.add(node.module)
    return {
        name
        for name in found
        if name.partition(".")[0] not in sys.stdlib_module_names | {"boxdrive_wsgi", "_typeshed"}
    }


@cache
def top_level_owners() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distributions_of(module: str) -> set[str]:
    """The installed distributions whose files hold ``module``: a namespace package such as
    ``opentelemetry`` spans several, so the top-level name alone does not tell."""
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} is not installed"
    locations = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    wanted = {Path(location).resolve() for location in locations}
    top = module.partition(".")[0]
    owners = set()
    for name in top_level_owners().get(top, []):
        dist = importlib.metadata.distribution(name)
        for file in dist.files or ():
            if file.parts[0] != top:
                continue
            path = Path(str(dist.locate_file(file))).resolve()
            if path in wanted or any(w in path.parents for w in wanted if spec.origin is None):
                owners.add(distribution_name(name))
                break
    assert owners, f"no installed distribution holds {module} ({locations})"
    return owners


def test_every_imported_package_is_declared() -> None:
    """What the package imports comes from its dependencies or a runtime extra, never from
    the test tools by luck: python-gitlab and requests (GitLab store), botocore (S3), ..."""
    meta = project()
    runtime = {
        name: deps for name, deps in meta["optional-dependencies"].items() if name not in DEV_EXTRAS
    }
    declared = {distribution_name(d) for d in meta["dependencies"]}
    declared |= {distribution_name(d) for deps in runtime.values() for d in deps}
    missing = {
        module: owners
        for module in sorted(imported_modules())
        if not (owners := distributions_of(module)) & declared
    }
    assert missing == {}


def test_gitlab_is_an_extra_like_s3() -> None:
    meta = project()
    base = {distribution_name(d) for d in meta["dependencies"]}
    extras = meta["optional-dependencies"]
    assert "python-gitlab" not in base and "boto3" not in base
    assert "python-gitlab" in {distribution_name(d) for d in extras["gitlab"]}
    assert "boto3" in {distribution_name(d) for d in extras["s3"]}
    (test_self,) = [d for d in extras["test"] if d.startswith("boxdrive-wsgi[")]
    assert {"s3", "gitlab", "otel", "metrics"} <= set(
        test_self[len("boxdrive-wsgi[") : -1].split(",")
    )


def test_checkout_gunicorn_conf_is_the_package_settings() -> None:
    """``gunicorn -c gunicorn.conf.py`` and ``-c python:boxdrive_wsgi.gunicorn_conf`` configure
    gunicorn alike: the file in a checkout re-exports every setting and hook of the package."""
    from boxdrive_wsgi import gunicorn_conf

    checkout = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    settings = {
        name: value
        for name, value in vars(gunicorn_conf).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert {"bind", "workers", "threads", "timeout", "child_exit"} <= set(settings)
    assert {name: checkout.get(name) for name in settings} == settings


#: What the runtime extras install (and their big dependencies): the base install has none.
#: pytest and hypothesis ([testing]) are for the store contract kit only, never the server.
EXTRA_MODULES = (
    "gitlab", "requests", "boto3", "botocore", "prometheus_client", "opentelemetry",
    "pytest", "_pytest", "hypothesis",
)  # fmt: skip


def test_base_install_serves_without_any_extra(tmp_path: Path) -> None:
    """Without the extras' packages (python-gitlab is one now), the package imports, the
    command runs and the default filesystem store serves S3."""
    code = (
        "import boxdrive_wsgi, flask\n"
        "from boxdrive_wsgi.cli import main\n"
        "client = boxdrive_wsgi.app.test_client()\n"
        "client.put('/bkt').close(); client.put('/bkt/k', data=b'abc').close()\n"
        "print(client.get('/-/health/ready').status_code, client.get('/bkt/k').data.decode())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOXDRIVE_", "OTEL_"))}
    env.update(BOXDRIVE_DATA_DIR=str(tmp_path / "data"), BOXDRIVE_ANONYMOUS="1")
    env = without_modules(env, tmp_path / "blocker", EXTRA_MODULES)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "abc"]
