#!/usr/bin/env python
"""A Django project's manage.py, as startproject writes it: whiskey finds the project's WSGI
application from the settings it names (Django itself is not needed to find it)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
