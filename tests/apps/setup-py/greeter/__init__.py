import six


def greeting():
    return "greeter %s, six %s" % (__name__, six.__version__)
