"""The [notifications] group: versioned notifications of server actions."""

from oslo_config import cfg

GROUP = cfg.OptGroup("notifications", title="Notification options")

VERSIONED = "versioned"
NONE = "none"

opts = [
    cfg.StrOpt(
        "notification_format",
        default=NONE,
        choices=[
            (
                VERSIONED,
                "The engine emits versioned notifications (server.create.*, "
                "server.delete.*, server.power_on.* and the other power "
                "actions) with oslo.messaging.",
            ),
            (NONE, "No notification is emitted."),
        ],
        help="Whether the engine emits notifications about server actions. "
        "Off by default: a message bus queue that no consumer reads grows "
        "without bound. With 'versioned', the driver is [oslo_messaging_"
        "notifications] driver when it is set (for example 'log', 'noop' or "
        "'routing'), else 'messagingv2'; the transport is [oslo_messaging_"
        "notifications] transport_url when it is set, else the engine's "
        "[DEFAULT] transport_url.",
    ),
    cfg.ListOpt(
        "versioned_notifications_topics",
        default=["versioned_notifications"],
        help="Topics the versioned notifications are sent to. Consumers "
        "listen on <topic>.info and <topic>.error (RabbitMQ queues of those "
        "names with the messagingv2 driver).",
    ),
    cfg.BoolOpt(
        "include_step_durations",
        default=True,
        help="Whether the .end and .error notifications of a create or a "
        "delete carry how long each of its steps took (seconds, by step "
        "name). Turn it off to keep payloads to the server and its node.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts() -> list[cfg.Opt]:
    return opts
