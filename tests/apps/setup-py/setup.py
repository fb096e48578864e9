"""A package installed from setup.py (no requirements.txt): the legacy layout."""
from setuptools import setup

setup(
    name="greeter",
    version="1.0",
    packages=["greeter"],
    install_requires=["six==1.16.0"],
)
