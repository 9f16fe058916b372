"""The Valence engine extension: compose and enroll ahead of the create flow,
unenroll and release after the undeploy on delete."""

import logging

from mogan_valence.common import exception
from mogan_valence.conf import redfish_composition as rf_conf
from mogan_valence.engine import extensions
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import composer as composer_mod
from mogan_valence.valence import composition as composition_mod
from mogan_valence.valence import enrollment
from mogan_valence.valence import exceptions as valence_exc
from mogan_valence.valence import expether
from mogan_valence.valence import inventory as inventory_mod
from mogan_valence.valence import reconciler as reconciler_mod
from mogan_valence.valence import tasks

LOG = logging.getLogger(__name__)


class ValenceExtension(extensions.EngineExtension):
    """Registered as ``valence`` in ``mogan.engine.extensions``."""

    name = "valence"

    def __init__(self, host: extensions.ExtensionHost):
        super().__init__(host)
        self.conf = host.conf
        self.ironic = host.ironic
        # The inventory is read (and checked) now: a broken one stops the
        # engine at start rather than a create later.
        self.inventory = inventory_mod.Inventory(self.conf.valence.node_inventory)
        self.inventory.entries()
        missing = enrollment.missing_redfish_options(self.conf)
        if (
            missing
            and not self.conf.valence.node_inventory
            and self.conf.valence.backend == composition_mod.VALENCE
        ):
            # Without an inventory only RSD nodes can be managed, through
            # these (with one, RSD composes are refused naming them).
            raise exception.InvalidInput(
                reason="[valence] enroll_driver = redfish needs " + ", ".join(missing)
            )
        self.valence = valence_client.ValenceClient.from_conf(self.conf)
        self.composers = composer_mod.Composers(
            self.conf, self.valence, host.coordination
        )
        self._check_redfish_services()
        self.pods = expether.PodManagers(self.conf, self.valence, host.coordination)
        self.hosts = expether.Hosts(self.conf, self.ironic, self.inventory)

    def _check_redfish_services(self) -> None:
        """Bad Redfish service options stop the engine at start: a service
        name, a default that is not enabled, an address that cannot work."""
        group = self.conf.redfish_composition
        for service in group.enabled_services:
            options = rf_conf.register_service(self.conf, service)
            if options.address:
                composer_mod.check_service(service, options)
        if (
            self.conf.valence.backend == composition_mod.REDFISH
            and group.default_service not in group.enabled_services
        ):
            raise exception.InvalidInput(
                reason=f"[redfish_composition] default_service "
                f"'{group.default_service}' is not in enabled_services"
            )

    # -- flavors -----------------------------------------------------------------

    def claims_flavor(self, flavor: dict) -> bool:
        return composition_mod.is_composed(flavor.get("composition"))

    def _validate(self, flavor: dict) -> dict:
        return composition_mod.validate(
            flavor["composition"], self.conf.valence.backend
        )

    def validate_flavor(self, flavor: dict) -> None:
        if not self.claims_flavor(flavor):
            return
        comp = self._validate(flavor)
        if composition_mod.backend_of(comp, self.conf.valence.backend) == (
            composition_mod.REDFISH
        ):
            # A service that is not enabled, or has no address, is named now.
            self.composers.for_composition(comp)
            return
        composition_mod.podm_id_for(comp, self.conf.valence.podm_id)

    def requested_hardware(self, flavor: dict) -> dict[str, int]:
        comp = self._validate(flavor)
        valence_flavor = None
        if composition_mod.VALENCE_FLAVOR in comp:
            uuid = comp[composition_mod.VALENCE_FLAVOR]
            try:
                valence_flavor = self.valence.get_flavor(uuid)
            except valence_exc.ValenceNotFound:
                raise exception.InvalidInput(
                    reason=f"flavor {flavor['name']} names Valence flavor {uuid}, "
                    "which Valence does not have"
                ) from None
            except valence_exc.ValenceError as e:
                # A type RPC callers know (Valence's own are not sent back).
                raise exception.ServiceUnavailable(
                    service="Valence",
                    reason=f"cannot read flavor {uuid} to count it in the quota ({e})",
                ) from e
        return composition_mod.requested_hardware(comp, valence_flavor)

    def _compose_on_no_valid_node(self, flavor: dict) -> bool:
        return bool(
            self.conf.valence.compose_on_no_valid_node and flavor.get("resources")
        )

    # -- create ------------------------------------------------------------------

    def reshape_create_flow(self, context, instance_uuid, flavor, base_tasks):
        if not self.claims_flavor(flavor):
            return base_tasks
        if self._compose_on_no_valid_node(flavor):
            reshaped = []
            for t in base_tasks:
                if getattr(t, "is_scheduling", False):
                    reshaped.extend(
                        tasks.compose_on_no_valid_node(
                            t,
                            self.valence,
                            self.ironic,
                            self.conf,
                            self.pods,
                            self.hosts,
                            self.composers,
                        )
                    )
                else:
                    reshaped.append(t)
            return reshaped
        compose = tasks.ComposeNodeTask(
            self.valence, self.conf, self.pods, self.hosts, composers=self.composers
        )
        enroll = tasks.EnrollNodeTask(
            self.ironic, self.valence, self.conf, self.hosts, composers=self.composers
        )
        # The composed node is the placement: drop the scheduling tasks.
        return [tasks.ReturnHostTask(self.ironic), compose, enroll] + [
            t for t in base_tasks if not getattr(t, "is_scheduling", False)
        ]

    # -- periodic ----------------------------------------------------------------

    def reconciler(self) -> reconciler_mod.Reconciler:
        return reconciler_mod.Reconciler(
            self.conf, self.ironic, self.valence, composers=self.composers
        )

    def periodic_tasks(self) -> list[extensions.PeriodicTask]:
        interval = self.conf.valence.reconcile_interval
        if not interval:
            return []
        return [
            extensions.PeriodicTask(
                "reconcile", interval, lambda: self.reconciler().run()
            )
        ]

    # -- delete ------------------------------------------------------------------

    def delete_steps(self, context, instance) -> list[extensions.DeleteStep]:
        """Unenroll, release, then give back a borrowed host.

        The Ironic node made for a composed node has the Valence node's
        uuid and is removed before the release; an ExpEther host that was in
        Ironic before (borrowed) stays enrolled, kept out of the pool until
        its devices are released, then given back.
        """
        if not instance.is_composed:
            return []
        name = tasks.node_name(instance.uuid)
        valence_uuid = enrollment.valence_node_of(instance)

        # What this run of the teardown saw gone from Ironic: the release
        # that follows the unenroll need not ask again (a resumed release,
        # whose unenroll ran in another process, still does).
        gone: set[str] = set()

        def unenroll():
            if not valence_uuid:
                return
            node = self.ironic.find_node(valence_uuid)
            if node is not None and not enrollment.is_adopted(node):
                self.ironic.delete_node(valence_uuid, node=node)
                gone.add(valence_uuid)
            elif node is None:
                gone.add(valence_uuid)

        def release():
            # Resolved here, not when the steps are built: a service no
            # longer configured fails this step only, after the unenroll.
            composer = self.composers.for_instance(instance)
            ref = (instance.extra or {}).get(composer_mod.COMPOSER_KEY) or {}
            hint = {"path": ref["path"]} if ref.get("path") else {}
            released = False
            if valence_uuid:
                released = _release(composer, valence_uuid, **hint)
            if not released:
                # A create that was reverted may still have left a node
                # behind (its answer lost), and a Redfish system is named
                # after the instance whatever its node uuid: find by name.
                for node in composer.find_nodes_by_name(name):
                    _release(composer, node["uuid"])

        def _release(composer, target, **hint) -> bool:
            if target not in gone and self.ironic.find_node(target) is not None:
                raise exception.Conflict(
                    f"Node {target} is still enrolled in Ironic; not releasing it"
                )
            if composer.release_node(target, **hint):
                LOG.info(
                    "Instance %s: released composed node %s (%s)",
                    instance.uuid,
                    target,
                    composer.backend,
                )
                return True
            return False

        def return_host():
            tasks.return_host(
                self.ironic,
                instance_obj.Instance.get(None, instance.uuid),
                keep_node=True,
            )

        return [
            extensions.DeleteStep("unenroll", unenroll),
            extensions.DeleteStep("release", release),
            extensions.DeleteStep("return-host", return_host),
        ]
