"""Client side of the engine's RPC API."""

import oslo_messaging as messaging
from oslo_config import cfg

from mogan_valence.engine import rpc


class EngineAPI:
    """Client side of the engine RPC API.

    API version history:

    | 1.0 - Initial version: flavors (create, list, get, delete), instances
    |       (create, list, get with its latest fault, delete).
    | 1.1 - delete_instance takes force_release (admins: release a node
    |       whose cleaning failed).
    | 1.2 - update_flavor, add_flavor_access, remove_flavor_access;
    |       create_instance takes metadata and partitions.
    | 1.3 - set_power_state.
    | 1.4 - update_quota; create_instance refuses an instance over its
    |       project's quota (QuotaExceeded).
    """

    RPC_API_VERSION = "1.4"

    def __init__(
        self,
        transport=None,
        conf: cfg.ConfigOpts = cfg.CONF,
        timeout: float | None = None,
    ):
        self.conf = conf
        self.transport = transport or rpc.get_transport(conf)
        target = messaging.Target(topic=conf.engine.topic, version=self.RPC_API_VERSION)
        self.client = rpc.get_client(
            self.transport, target, version_cap=self.RPC_API_VERSION
        )
        self.timeout = timeout

    def _prepare(self, version="1.0"):
        kwargs = {"version": version}
        if (self.conf.engine.jobboard_backend or "none") == "none":
            # One engine runs what it is asked: every request goes to it.
            # With a jobboard, any engine takes any request.
            kwargs["server"] = self.conf.engine.host
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return self.client.prepare(**kwargs)

    # -- flavors ------------------------------------------------------------

    def create_flavor(
        self,
        context,
        name,
        resources=None,
        resource_traits=None,
        composition=None,
        description=None,
        is_public=True,
    ):
        return self._prepare().call(
            context,
            "create_flavor",
            name=name,
            resources=resources,
            resource_traits=resource_traits,
            composition=composition,
            description=description,
            is_public=is_public,
        )

    def list_flavors(self, context):
        return self._prepare().call(context, "list_flavors")

    def get_flavor(self, context, flavor):
        return self._prepare().call(context, "get_flavor", flavor=flavor)

    def update_flavor(self, context, flavor, values):
        return self._prepare("1.2").call(
            context, "update_flavor", flavor=flavor, values=values
        )

    def add_flavor_access(self, context, flavor, project_id):
        return self._prepare("1.2").call(
            context, "add_flavor_access", flavor=flavor, project_id=project_id
        )

    def remove_flavor_access(self, context, flavor, project_id):
        return self._prepare("1.2").call(
            context, "remove_flavor_access", flavor=flavor, project_id=project_id
        )

    def delete_flavor(self, context, flavor):
        return self._prepare().call(context, "delete_flavor", flavor=flavor)

    # -- quotas ---------------------------------------------------------------

    def update_quota(self, context, project_id, limits):
        return self._prepare("1.4").call(
            context, "update_quota", project_id=project_id, limits=limits
        )

    # -- instances ------------------------------------------------------------

    def create_instance(
        self,
        context,
        name,
        flavor,
        image_source,
        description=None,
        metadata=None,
        partitions=None,
    ):
        if metadata or partitions:
            return self._prepare("1.2").call(
                context,
                "create_instance",
                name=name,
                flavor=flavor,
                image_source=image_source,
                description=description,
                metadata=metadata,
                partitions=partitions,
            )
        return self._prepare().call(
            context,
            "create_instance",
            name=name,
            flavor=flavor,
            image_source=image_source,
            description=description,
        )

    def list_instances(self, context, include_deleted=False):
        return self._prepare().call(
            context, "list_instances", include_deleted=include_deleted
        )

    def get_instance(self, context, instance):
        """The instance and its latest fault: ``{"instance", "fault"}``."""
        return self._prepare().call(context, "get_instance", instance=instance)

    def delete_instance(self, context, instance, force_release=False):
        if force_release:
            return self._prepare("1.1").call(
                context, "delete_instance", instance=instance, force_release=True
            )
        return self._prepare().call(context, "delete_instance", instance=instance)

    def set_power_state(self, context, instance, target):
        return self._prepare("1.3").call(
            context, "set_power_state", instance=instance, target=target
        )
