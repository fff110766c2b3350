"""Server-side encryption at rest: the segment format (``segments``), keys
(``keys``, ``kms``), and the S3 wiring above the store (``sse``).

Stores stay unaware: what they store is ciphertext plus an ``encryption`` mapping
in the object's attributes (scheme, key id, wrapped data key, plaintext size).
"""
