"""Adjustments for the WSGI servers boxdrive-wsgi runs under."""
