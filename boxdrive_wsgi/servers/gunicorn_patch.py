"""Patching gunicorn's ``Response`` in the process gunicorn runs, each method once.

The app is loaded in gunicorn's workers, after gunicorn's HTTP module: a patch applied
at import and again when a blueprint is made finds it there (and is a no-op in a
process gunicorn does not run). Each patch wraps the original method, so gunicorn's
own behaviour stays the fallback for everything the patch does not take over.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Method = Callable[..., Any]
#: The attribute keeping a patched method's original, on the class patched.
_ORIGINAL = "_boxdrive_original_"


def patch_response(name: str, wrap: Callable[[Method], Method]) -> None:
    """Replace ``gunicorn.http.wsgi.Response.<name>`` by ``wrap(original)``, once."""
    module = sys.modules.get("gunicorn.http.wsgi")
    if module is None:
        return
    response_class = module.Response
    if original_of(response_class, name) is not None:
        return
    original = getattr(response_class, name)
    setattr(response_class, name, wrap(original))
    setattr(response_class, f"{_ORIGINAL}{name}", original)


def original_of(response_class: type[Any], name: str) -> Method | None:
    """The method ``patch_response`` replaced on this very class, if it did."""
    found: Method | None = vars(response_class).get(f"{_ORIGINAL}{name}")
    return found
