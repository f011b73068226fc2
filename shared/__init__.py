"""zatsudan shared package: everything the functions import.

Handlers in ``functions/*/main.py`` stay thin; the logic lives here behind
small interfaces (stores, rankers, router) so tests can pass emulator-backed
clients in.
"""
