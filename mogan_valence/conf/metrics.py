"""The Prometheus metrics options, the same in [engine] and [api]."""

from oslo_config import cfg


def opts(process: str, serves: str) -> list[cfg.Opt]:
    """``metrics_host`` and ``metrics_port`` of ``process``.

    :param serves: what its endpoint serves, and when it does not.
    """
    return [
        cfg.HostAddressOpt(
            "metrics_host",
            default="127.0.0.1",
            help=f"The address the Prometheus metrics endpoint of {process} "
            "listens on, when metrics_port is set. Keep it on a management "
            "network: the metrics name no tenant, but count every project's "
            "servers.",
        ),
        cfg.PortOpt(
            "metrics_port",
            default=0,
            help="The TCP port of the Prometheus metrics endpoint "
            f"(http://<metrics_host>:<metrics_port>/metrics) of {process}: "
            f"{serves}",
        ),
    ]
