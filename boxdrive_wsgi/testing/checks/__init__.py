"""The store contract's checks, one module per part of the contract.

Each ``test_*`` function is a check; ``boxdrive_wsgi.testing.StoreContract`` collects them
all. They take the fixtures ``store``, ``bucket`` and ``mp_store`` (see ``contract``).
"""
