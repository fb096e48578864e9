"""WSGI entry point: mod_wsgi-express loads it as the module hello_world.wsgi."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hello_world.settings")

application = get_wsgi_application()
