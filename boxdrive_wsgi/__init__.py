"""boxdrive-wsgi: an S3-compatible object storage server for WSGI."""
