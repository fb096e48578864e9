"""URLs of the hello_world test project (Django 1.8 through 5.2)."""
import django
from django.contrib import admin

try:
    from django.urls import re_path  # Django >= 2.0
except ImportError:
    from django.conf.urls import url as re_path  # Django < 2.0

from hello_world import views

if django.VERSION < (1, 9):
    from django.conf.urls import include
    admin_urls = include(admin.site.urls)
else:
    admin_urls = admin.site.urls

urlpatterns = [
    re_path(r"^$", views.index),
    re_path(r"^env$", views.env),
    re_path(r"^uid$", views.uid),
    re_path(r"^admin/", admin_urls),
]
