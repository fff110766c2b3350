"""A store over a GitLab repository: ``store`` (``GitlabStore``), the REST client
(``api``) and the key <-> repository path mapping (``paths``)."""

from .store import GitlabStore

__all__ = ["GitlabStore"]
