# gunicorn's configuration, as an app for the official builder has one: whiskey does not read it.
bind = "0.0.0.0:8085"
workers = 2
