"""bucketsync: S3 bucket-to-bucket replication that carries Object Lock state.

The folders are the layers. A module imports only from its own package or the packages below it, never
from one beside or above it (`lint-imports` checks this map, kept in pyproject.toml, and that no import
cycle exists):

    cli, ops_cli, tasks   entry points: the `bucketsync` command line; operator commands (beat, schedules,
                          runs, status); the Celery task shells (`celery -A bucketsync.tasks worker`);
    help_format           how --help reads (no type placeholders, SRC DST)
    ops                   operating runs over time: schedules, scheduled runs and their job lock, metric
                          series and totals, the Prometheus exporter, the demo
    distributed           runs on Celery workers: the app, the coordinator (one page per call), batches under
                          their leases, the ledger of run totals in Redis, publishing, submitting and
                          following a run, the workers' recovery sweep; `watch` with a broker
    run                   one run in this process: preflight and the run request, the embedded run (latest
                          versions and whole histories), verify, the report; `watch` in this process
    listing | engine      listing: pages of keys and versions, key ranges listed at once;
                          engine: one object's copy, lock and read-back, and the boto3 clients
    core                  pure values and decisions: settings, object model, the plan per key, lock rules,
                          outcomes, the message contract. No S3, Redis or Celery code, not even indirectly.

Each package's docstring lists its modules.
"""

__version__ = "0.1.0"
