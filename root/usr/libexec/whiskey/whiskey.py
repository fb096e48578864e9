"""whiskey's program in the image: the S2I scripts (/usr/libexec/s2i) are stubs over it.

    python whiskey.py assemble         install the application uploaded to /tmp/src
    python whiskey.py run [OPTION...]   start it (after tini; runtime.py, server.py)
    python whiskey.py save-artifacts    the wheels for the next incremental build, a tar on stdout
    python whiskey.py usage             what the image does, and how to use it
    python whiskey.py pins [SRC]        what the lock a build would install pins (locks.py)

assemble-runtime stays in bash: it runs as root over what the build uploaded,
and root must not start a Python whose site-packages the build wrote.
Runs on every interpreter whiskey ships (2.7, 3.3 to 3.x).
"""

import os
import sys

USAGE = """\
whiskey %(variant)s: an S2I builder for Python %(python)s WSGI applications,
served by Apache httpd with mod_wsgi-express %(mod_wsgi)s on port 8080.

Build an application image from source:
  s2i build <source-dir-or-git-url> <this-image> myapp
  s2i build --incremental <source> <this-image> myapp   # reuse the last build's wheels
  docker run -p 127.0.0.1:8080:8080 myapp

On OpenShift:
  oc new-app <this-image>~<git-url>

What the build looks at in your source (all optional):
  requirements.txt               installed with pip
  .whiskey/server_args           extra mod_wsgi-express options, e.g.
                                   --application-type module --entry-point myproject.wsgi
                                   --url-alias /static static
                                   --trust-proxy-header X-Forwarded-For
                                 shell-like quoting; $VAR and ${VAR} expand at start; $$ is a $;
                                 nothing is ever executed.  No entry point: the
                                 mod_wsgi-express default page is served.
  .whiskey/action_hooks/pre-build  run before pip (build time)
  .whiskey/action_hooks/build      run after pip, e.g. collectstatic (build time)
  .whiskey/action_hooks/deploy-env run at every start; edits files in $WHISKEY_ENVDIR
  .whiskey/action_hooks/deploy     run at every start before the server (migrations)
  .whiskey/action_hooks/start      replaces mod_wsgi-express; gets its arguments
  .whiskey/user_vars/NAME          sets environment variable NAME at start
  .s2i/environment                 KEY=VALUE lines for build and run time (s2i)
Hooks must be executable; a failing hook fails the build (or stops the container).

Server settings from the environment (MOD_WSGI_PROCESSES, MOD_WSGI_THREADS, ...):
see the README.  The server runs as UID 1001 or any UID in group 0.
"""


def usage():
    sys.stdout.write(USAGE % {"variant": os.environ.get("WHISKEY_VARIANT", ""),
                              "python": os.environ.get("PYTHON_VERSION", ""),
                              "mod_wsgi": os.environ.get("WHISKEY_MOD_WSGI_VERSION", "")})
    return 0


def main(argv):
    command, args = (argv[0], argv[1:]) if argv else ("usage", [])
    if command == "assemble" and args[:1] != ["-h"]:
        import assemble
        return assemble.main()
    if command == "run":
        import runtime
        return runtime.main(args)
    if command == "save-artifacts":
        import places
        import wheelhouse
        out = getattr(sys.stdout, "buffer", sys.stdout)
        wheelhouse.save_artifacts(places.wheelhouse(os.environ), out)
        out.flush()
        return 0
    if command == "pins":
        import locks
        return locks.main(argv)
    return usage()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
