"""Operating runs over time: schedules, scheduled runs, metrics, the exporter, the demo.

Modules:

    demo                `bucketsync demo`: a throwaway local S3 server (moto), locked objects, one replication, a lock check.
    exporter            `bucketsync exporter`: Prometheus text format on /metrics, read from Redis at each scrape.
    job_totals          Per-job totals in Redis for the exporter, each ended run added exactly once.
    joblock             One run at a time per scheduled job: a lock in Redis whose value is the id of the run that holds it.
    lock_pass_record    When each scheduled job last did the lock pass, in Redis: `bucketsync:job:<job>:lock_pass_started_at`.
    metrics             Prometheus series from run reports: per-job totals (pure), the exposition text, and the textfile writer.
    run_end             The end of every run on the workers, scheduled or not.
    scheduled           Scheduled runs on the workers: the trigger that celery beat sends, and each job's lock.
    schedules           Scheduled replications: which jobs run when, read from the environment and checked before anything starts.
"""
