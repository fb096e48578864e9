# The one setting whiskey reads of a Django project, as startproject writes it.
WSGI_APPLICATION = "mysite.wsgi.application"
