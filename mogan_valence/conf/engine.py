"""The [engine] group: how the engine runs flows and waits on Ironic."""

import socket

from oslo_config import cfg

from mogan_valence.conf import metrics

GROUP = cfg.OptGroup("engine", title="Engine options")

opts = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<hostname>",
        help="Name of this engine on the message bus. RPC clients address "
        "this name, so every client of one engine must use the same value.",
    ),
    cfg.StrOpt(
        "topic",
        default="mogan-valence-engine",
        help="Message bus topic the engine listens on.",
    ),
    cfg.IntOpt(
        "workers_pool_size",
        default=64,
        min=1,
        help="Number of create and delete operations one engine runs at "
        "once. Further requests wait for a free worker. Each worker is a "
        "native thread that mostly waits on Ironic and Valence.",
    ),
    cfg.ListOpt(
        "enabled_extensions",
        default=[],
        help="Engine extensions to load from the 'mogan.engine.extensions' "
        "entry point namespace, for example 'valence'. An extension that is "
        "listed but cannot be loaded stops the engine at start.",
    ),
    cfg.IntOpt(
        "schedule_max_attempts",
        default=3,
        min=1,
        help="How many nodes one create may try before the instance goes to "
        "ERROR. 1 disables rescheduling after a failed deploy.",
    ),
    cfg.IntOpt(
        "node_action_timeout",
        default=600,
        min=1,
        deprecated_name="enroll_timeout",
        help="Seconds to wait for each Ironic action other than deploy and "
        "undeploy: an enrolled node becoming available (manage, then "
        "provide, which may clean), an allocation picking a node for a "
        "create, and a power change. When it passes, that step fails: the "
        "create or the power action reports a timeout.",
    ),
    cfg.IntOpt(
        "deploy_timeout",
        default=3600,
        min=1,
        help="Seconds to wait for a node to reach 'active' after deploy "
        "starts before the create fails.",
    ),
    cfg.IntOpt(
        "undeploy_timeout",
        default=1800,
        min=1,
        help="Seconds to wait for a node to be torn down (including cleaning, "
        "when Ironic runs it) before the delete fails.",
    ),
    cfg.IntOpt(
        "graceful_shutdown_timeout",
        default=60,
        min=0,
        help="Seconds the engine waits, after SIGTERM, for creates and "
        "deletes in flight to finish before it exits. Work still running "
        "then is abandoned where it is: every flow is saved after each "
        "step, and the next start of this engine host resumes it. With a "
        "jobboard, each flow stops after the step it is running and its "
        "job is handed back at once for another engine to take over; this "
        "bounds that wait.",
    ),
    cfg.StrOpt(
        "jobboard_backend",
        default="none",
        secret=True,
        help="Where creates, deletes and power actions go as jobs that any "
        "engine may claim: 'none' (this engine runs the work it is asked "
        "for; one engine per database) or a Redis URL, "
        "redis://[:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS). With a "
        "board, requests reach any engine, every engine runs a taskflow "
        "conductor, and the work of an engine that dies is taken over by "
        "another after jobboard_expiration_time. Every engine and the API "
        "must use the same value. Run Redis with appendonly persistence: "
        "jobs and claims then survive a Redis restart.",
    ),
    cfg.StrOpt(
        "jobboard_name",
        default="mogan_valence_jobs",
        help="Namespace of this deployment's jobs on the jobboard backend.",
    ),
    cfg.IntOpt(
        "jobboard_expiration_time",
        default=30,
        min=3,
        help="Seconds a claim on a job lives unless its engine extends it "
        "(it does so at every step and every quarter of this time). After "
        "an engine dies, its jobs wait this long before another engine "
        "takes them over and runs the interrupted step again.",
    ),
    cfg.FloatOpt(
        "poll_interval_min",
        default=0.3,
        min=0.01,
        help="First interval, in seconds, between two polls of a resource "
        "that is changing state. Later intervals grow towards "
        "poll_interval_max.",
    ),
    cfg.FloatOpt(
        "poll_interval_max",
        default=5.0,
        min=0.01,
        help="Longest interval, in seconds, between two polls of a resource "
        "that is changing state. Caps the request rate of every waiting "
        "operation.",
    ),
]
opts += metrics.opts(
    "the engine",
    "step durations and outcomes, flows and composes in flight, reconciler "
    "actions, instances by state. 0 (the default) serves no metrics.",
)


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts() -> list[cfg.Opt]:
    return opts
