"""Test support shared by the behaviour suite and bench/: not part of the product."""
