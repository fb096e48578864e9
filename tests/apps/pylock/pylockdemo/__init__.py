"""The application's own package, installed from the lock's root entry."""


def greeting():
    return "hello from pylockdemo"
