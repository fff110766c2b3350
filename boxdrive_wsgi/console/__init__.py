"""The web console: browse, upload, share and administer in a browser.

``make_console_blueprint`` builds it; ``create_app`` mounts it at ``console_path``
(``/-/console``) unless ``BOXDRIVE_CONSOLE=0``. Every action is authorized by the same
AccessControl as the S3 API, and bytes travel over the S3 API with presigned URLs.
"""

from __future__ import annotations

from .blueprint import make_console_blueprint

__all__ = ["make_console_blueprint"]
