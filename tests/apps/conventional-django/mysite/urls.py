"""URLs (Django 1.8 through 5.x)."""
from django.http import HttpResponse

try:
    from django.urls import re_path  # Django >= 2.0
except ImportError:
    from django.conf.urls import url as re_path  # Django < 2.0


def index(request):
    return HttpResponse("conventional django layout", content_type="text/plain")


def users(request):
    """Answers only once migrate has made the auth tables."""
    from django.contrib.auth.models import User
    return HttpResponse("users: %d" % User.objects.count(), content_type="text/plain")


urlpatterns = [re_path(r"^$", index), re_path(r"^users$", users)]
