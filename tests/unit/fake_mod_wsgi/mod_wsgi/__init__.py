"""A stand-in for mod_wsgi's package (tests/unit/test_server_args.py puts its parent on PYTHONPATH)."""
