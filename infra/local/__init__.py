"""The local stack: emulators and functions on loopback, for dev and tests.

Dev tooling only; production code never imports this package.
"""
