"""Queue plumbing, in one place.

- ``topology``: every topic and subscription, their dead-letter names, leases
  and retry policy, as one table (the functions, the jobs, the local stack
  and the Terraform check all read it);
- ``publish``: publishing, and the attributes a dead letter carries;
- ``push``: decoding a push delivery and handling it (the push functions);
- ``queues``: creating a leased task queue (topic, dead letters, pull
  subscription);
- ``lease``: the pull-lease-ack loop of the batch workers (corpus, training).
"""
