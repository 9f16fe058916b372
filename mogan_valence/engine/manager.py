"""The engine's RPC endpoints: flavors and instances.

Each method validates its input and answers at once; the work of creating
or deleting an instance is handed to a worker (``workers``) that owns the
instance until it ends, and runs as a durable flow (``flow_runner``).

Errors a caller can expect are raised as the types of
``mogan_valence.common.exception`` (oslo.messaging carries them back):
``InvalidInput`` (400), ``Forbidden`` (403), ``NotFound`` (404),
``Conflict`` and ``InvalidStateTransition`` (409).
"""

import logging
import time

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_utils import uuidutils

from mogan_valence.common import coordination
from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.conf import quota as quota_conf
from mogan_valence.engine import extensions as ext_mod
from mogan_valence.engine import faults
from mogan_valence.engine import flow_runner
from mogan_valence.engine import jobboard
from mogan_valence.engine import notifications
from mogan_valence.engine import persistence
from mogan_valence.engine import validation
from mogan_valence.engine import workers
from mogan_valence.engine.flows import constants
from mogan_valence.engine.flows import power
from mogan_valence.objects import flavor as flavor_obj
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import instance_fault as fault_obj
from mogan_valence.objects import quota as quota_obj

LOG = logging.getLogger(__name__)

_EXPECTED = (
    exception.NotFound,
    exception.InvalidInput,
    exception.Forbidden,
    exception.Conflict,
    exception.InvalidStateTransition,
    exception.ServiceUnavailable,
)


def flavor_dict(flavor: flavor_obj.Flavor) -> dict:
    """The plain form flows and extensions get."""
    return {
        "uuid": flavor.uuid,
        "name": flavor.name,
        "resources": dict(flavor.resources or {}),
        "resource_traits": dict(flavor.resource_traits or {}),
        "composition": dict(flavor.composition or {}) or None,
    }


class EngineManager:
    """The RPC endpoints of the engine (see ``rpcapi.EngineAPI``)."""

    RPC_API_VERSION = "1.4"
    target = messaging.Target(version=RPC_API_VERSION)
    # How long a delete request waits for the worker of the previous
    # operation to end (it has shown ERROR or ACTIVE and is only saving its
    # records); then it is refused with a Conflict.
    owner_wait = 30.0

    def __init__(self, ironic, conf: cfg.ConfigOpts = cfg.CONF):
        self.conf = conf
        self.ironic = ironic
        self.extensions: list[ext_mod.EngineExtension] = []
        self.workers: workers.WorkerPool | None = None
        self.runner: flow_runner.FlowRunner | None = None
        self.coordinator = None
        self.board: jobboard.JobBoard | None = None
        self.notifier: notifications.Notifier | None = None

    # -- life cycle -------------------------------------------------------------

    def init_host(self) -> None:
        """Join the other engines (with a coordination backend), load
        extensions (fatal if one fails), open the flow store and start the
        workers. Takes no request yet; the jobboard's conductor starts with
        ``start_jobs``."""
        self.coordinator = coordination.get_coordinator(
            self.conf, f"{self.conf.engine.host}-{uuidutils.generate_uuid()[:8]}"
        )
        self.coordinator.start()
        host = ext_mod.ExtensionHost(
            conf=self.conf, ironic=self.ironic, coordination=self.coordinator
        )
        self.extensions = ext_mod.load(self.conf, host)
        # This host's own flows: the single-engine path, and what an engine
        # left before a jobboard was configured.
        self.flows = persistence.FlowStore(self.conf.engine.host)
        self.flows.sweep_orphans()
        self.notifier = notifications.Notifier(self.conf, self.ironic)
        self.runner = flow_runner.FlowRunner(
            self.conf, self.ironic, self.flows, self.extensions, self.notifier
        )
        self.workers = workers.WorkerPool(self.conf.engine.workers_pool_size)
        if jobboard.enabled(self.conf):
            shared = persistence.FlowStore(persistence.JOBBOARD_OWNER)
            self.board = jobboard.JobBoard(
                self.conf,
                shared,
                flow_runner.FlowRunner(
                    self.conf, self.ironic, shared, self.extensions, self.notifier
                ),
                self.coordinator,
            )

    def start_jobs(self) -> None:
        """Post what was saved but never posted, then claim jobs."""
        if self.board is None:
            return
        try:
            self.board.sweep()
        except Exception:  # noqa: BLE001  (the periodic sweep tries again)
            LOG.exception("Could not look for flows on no job")
        self.board.start()

    def periodic_tasks(self) -> list[ext_mod.PeriodicTask]:
        """The engine's own periodic tasks (the extensions have theirs)."""
        if self.board is None:
            return []
        return [
            ext_mod.PeriodicTask(
                "jobboard-sweep",
                float(self.conf.engine.jobboard_expiration_time),
                self.board.sweep,
            )
        ]

    def _start(self, context, saved: persistence.SavedFlow) -> None:
        """Hand a saved flow to this engine's workers, or post it as a job.

        :raises Conflict: (no board) a worker owns the instance.
        :raises ServiceUnavailable: the board could not take it.
        """
        if self.board is not None:
            self._post(saved)
        else:
            self.workers.submit(saved.instance_uuid, self.runner.run, context, saved)

    def resume_unfinished(self, context=None) -> int:
        """Hand every flow this host left unfinished to a worker.

        Called at start, before RPC serving begins, so that a request for
        the same instance finds it owned. Only this host's saved flows are
        touched; an instance another engine works on is never looked at.
        An error about one flow is logged and never stops the engine.
        """
        resumed = 0
        try:
            unfinished = self.runner.unfinished(context)
        except Exception:  # noqa: BLE001  (the engine starts all the same)
            LOG.exception("Could not read the flows left unfinished")
            return 0
        by_instance: dict[str, list] = {}
        for saved in unfinished:
            by_instance.setdefault(saved.instance_uuid, []).append(saved)
        for instance_uuid, saved_flows in by_instance.items():
            LOG.warning(
                "Resuming the %s of instance %s, left unfinished by a previous "
                "run of this engine",
                " and ".join(s.kind for s in saved_flows),
                instance_uuid,
            )
            try:
                self.workers.submit(
                    instance_uuid, self.runner.run_all, context, saved_flows
                )
            except Exception:  # noqa: BLE001  (one instance never stops all)
                LOG.exception("Could not resume the flow of %s", instance_uuid)
                continue
            resumed += 1
        return resumed

    def del_host(self, timeout: float | None = None) -> bool:
        """Stop taking work; wait up to ``timeout`` for work in flight.

        Returns False if work was still running when the time ran out: it
        resumes at the next start (or, with a jobboard, on another engine
        once its claims and locks expire). The caller must then end the
        process at once: the locks of that work are not released, since
        releasing them would let another engine run it beside this one.
        """
        if self.workers is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout

        def remaining():
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        idle = True
        if self.board is not None:
            idle = self.board.stop(remaining())
        idle = self.workers.stop(remaining()) and idle
        if idle and self.coordinator is not None:
            self.coordinator.stop()
        return idle

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until no operation runs (tests and the demo)."""
        self.workers.wait_idle(timeout)

    # -- flavors -----------------------------------------------------------------

    def _check_with_extensions(self, flavor: dict) -> None:
        """A composed flavor needs an extension that composes; every enabled
        extension may refuse a flavor."""
        if flavor.get("composition") and not any(
            e.claims_flavor(flavor) for e in self.extensions
        ):
            raise exception.InvalidInput(
                reason=f"flavor {flavor['name']} has a composition but no enabled "
                "engine extension composes nodes (enable 'valence' in [engine] "
                "enabled_extensions)"
            )
        for extension in self.extensions:
            try:
                extension.validate_flavor(flavor)
            except exception.InvalidInput as e:
                # Re-raised as the engine's own type: RPC clients know it.
                raise exception.InvalidInput(e.message) from e

    @messaging.expected_exceptions(*_EXPECTED)
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
        """Create a flavor.

        :raises InvalidInput: a field is wrong (the message names it), or no
            enabled extension accepts its composition.
        :raises DuplicateName: a flavor of that name exists.
        """
        values = validation.validate_flavor_request(
            {
                "name": name,
                "resources": resources,
                "resource_traits": resource_traits,
                "composition": composition,
                "description": description,
                "is_public": is_public,
            }
        )
        self._check_with_extensions(dict(values, uuid=None))
        flavor = flavor_obj.Flavor(**values)
        flavor.create(context)
        LOG.info(
            "Created flavor %s (%s)%s",
            flavor.name,
            flavor.uuid,
            " with a composition" if flavor.is_composed else "",
        )
        return flavor

    @messaging.expected_exceptions(*_EXPECTED)
    def list_flavors(self, context):
        return flavor_obj.Flavor.list(context)

    @messaging.expected_exceptions(*_EXPECTED)
    def get_flavor(self, context, flavor):
        """:raises FlavorNotFound: no flavor has that uuid or name."""
        return flavor_obj.Flavor.get(context, flavor)

    @messaging.expected_exceptions(*_EXPECTED)
    def update_flavor(self, context, flavor, values):
        """Change a flavor's name, description, is_public or disabled.

        :raises FlavorNotFound: no such flavor.
        :raises InvalidInput: a value is wrong, or another field is named.
        :raises DuplicateName: the new name is taken.
        """
        obj = flavor_obj.Flavor.get(context, flavor)
        values = validation.validate_flavor_update(values)
        for key, value in values.items():
            setattr(obj, key, value)
        obj.save(context)
        LOG.info("Updated flavor %s (%s): %s", obj.name, obj.uuid, sorted(values))
        return obj

    @messaging.expected_exceptions(*_EXPECTED)
    def add_flavor_access(self, context, flavor, project_id):
        """Let ``project_id`` see and use a private flavor.

        :raises FlavorNotFound: no such flavor.
        :raises Conflict: the flavor is public, or the project has access.
        """
        obj = flavor_obj.Flavor.get(context, flavor)
        if obj.is_public:
            raise exception.Conflict(
                f"Flavor {obj.name} is public: every project has access to it"
            )
        obj.add_access(project_id, context)
        LOG.info("Project %s has access to flavor %s", project_id, obj.uuid)

    @messaging.expected_exceptions(*_EXPECTED)
    def remove_flavor_access(self, context, flavor, project_id):
        """:raises NotFound: no such flavor, or the project has no access."""
        obj = flavor_obj.Flavor.get(context, flavor)
        obj.remove_access(project_id, context)
        LOG.info("Project %s lost access to flavor %s", project_id, obj.uuid)

    @messaging.expected_exceptions(*_EXPECTED)
    def delete_flavor(self, context, flavor):
        """:raises FlavorNotFound: no such flavor.
        :raises Conflict: an instance that is not deleted uses it."""
        obj = flavor_obj.Flavor.get(context, flavor)
        in_use = [
            i.uuid
            for i in instance_obj.Instance.list(context)
            if i.flavor_uuid == obj.uuid
        ]
        if in_use:
            raise exception.Conflict(
                f"Flavor {obj.name} is used by {len(in_use)} instance(s), "
                f"e.g. {in_use[0]}"
            )
        obj.destroy(context)
        LOG.info("Deleted flavor %s (%s)", obj.name, obj.uuid)

    # -- quotas ------------------------------------------------------------------

    @messaging.expected_exceptions(*_EXPECTED)
    def update_quota(self, context, project_id, limits):
        """Set some of a project's quota limits (None: back to the default).

        :raises InvalidInput: naming a bad resource or value.
        """
        limits = validation.validate_quota_update(project_id, limits)
        quota_obj.Quota.update(context, project_id, limits)
        LOG.info("Quota of project %s set: %s", project_id, limits)

    # -- instances ---------------------------------------------------------------

    @messaging.expected_exceptions(*_EXPECTED)
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
        """Create an instance: answer BUILDING, then compose/schedule and
        deploy on a worker.

        The create flow is saved before the instance is written, so that an
        engine killed at any moment after this resumes it.

        :raises InvalidInput: a field is wrong, or the flavor is disabled or
            refused by an extension.
        :raises FlavorNotFound: no such flavor.
        """
        values = validation.validate_instance_request(
            {
                "name": name,
                "flavor": flavor,
                "image_source": image_source,
                "description": description,
            }
        )
        extra = {}
        if metadata:
            extra["metadata"] = dict(metadata)
        if partitions:
            extra["partitions"] = dict(partitions)
        flavor_o = flavor_obj.Flavor.get(context, values["flavor"])
        if flavor_o.disabled:
            raise exception.InvalidInput(reason=f"flavor {flavor_o.name} is disabled")
        # Re-checked before anything is composed: the extensions' view of
        # what is valid may have changed since the flavor was created.
        plain = flavor_dict(flavor_o)
        self._check_with_extensions(plain)
        hardware = self._requested_hardware(plain)
        instance_uuid = uuidutils.generate_uuid()
        saved = self._store.new(
            persistence.CREATE,
            instance_uuid,
            store={
                constants.INSTANCE_UUID: instance_uuid,
                constants.FLAVOR: plain,
                constants.IMAGE_SOURCE: values["image_source"],
            },
        )
        instance = instance_obj.Instance(
            uuid=instance_uuid,
            name=values["name"],
            description=values["description"],
            status=states.BUILDING,
            flavor_uuid=flavor_o.uuid,
            image_source=values["image_source"],
            project_id=getattr(context, "project_id", None),
            user_id=getattr(context, "user_id", None),
            extra=extra,
            **{
                name: hardware.get(resource) or None
                for name, resource in instance_obj.COUNTED_FIELDS.items()
            },
        )
        try:
            # The quota check and the insert are one transaction.
            instance.create(context, quota_defaults=quota_conf.defaults(self.conf))
        except Exception:
            # Nothing ran yet; a create that is not answered is not resumed.
            self._store.done(saved)
            raise
        LOG.info(
            "Creating instance %s (%s) of flavor %s",
            instance.name,
            instance.uuid,
            flavor_o.name,
        )
        try:
            self._start(context, saved)
        except Exception as e:
            # The row exists: it must not stay BUILDING with nothing at work.
            self._store.done(saved)
            faults.record_failure(instance_uuid, "create", e, context=context)
            raise
        return instance

    def _requested_hardware(self, flavor: dict) -> dict:
        """What the extension that provisions ``flavor`` says an instance
        of it holds (the quota counts it); {} for a pre-set flavor."""
        for extension in self.extensions:
            if extension.claims_flavor(flavor):
                try:
                    return extension.requested_hardware(flavor)
                except exception.InvalidInput as e:
                    raise exception.InvalidInput(e.message) from e
        return {}

    @messaging.expected_exceptions(*_EXPECTED)
    def list_instances(self, context, include_deleted=False):
        return instance_obj.Instance.list(context, include_deleted=include_deleted)

    @messaging.expected_exceptions(*_EXPECTED)
    def get_instance(self, context, instance):
        """The instance and its latest fault: ``{"instance", "fault"}``.

        :raises InstanceNotFound: no instance has that uuid or name.
        :raises Conflict: several instances have that name.
        """
        obj = self._find_instance(context, instance)
        fault = fault_obj.InstanceFault.get_latest_for_instances(context, [obj.uuid])
        return {"instance": obj, "fault": fault.get(obj.uuid)}

    def _find_instance(self, context, ident: str) -> instance_obj.Instance:
        if uuidutils.is_uuid_like(ident):
            return instance_obj.Instance.get(context, ident)
        matches = [i for i in instance_obj.Instance.list(context) if i.name == ident]
        if not matches:
            raise exception.InstanceNotFound(instance=ident)
        if len(matches) > 1:
            raise exception.Conflict(
                f"{len(matches)} instances are named {ident}; use a uuid"
            )
        return matches[0]

    @messaging.expected_exceptions(*_EXPECTED)
    def delete_instance(self, context, instance, force_release=False):
        """Delete an instance: answer DELETING, tear down on a worker.

        A delete already on its way is not started twice. A delete that
        failed (ERROR) resumes where it stopped when repeated.

        :param force_release: admins only: go past a node whose cleaning
            failed and release its hardware uncleaned (logged).
        :raises InstanceNotFound: no such instance (or it is deleted).
        :raises InvalidStateTransition: its create is still running.
        :raises Forbidden: ``force_release`` by a non-admin.
        :raises Conflict: the previous operation's worker did not end in
            time; try again.
        """
        if force_release and not getattr(context, "is_admin", False):
            raise exception.Forbidden(
                reason="only an admin may force the release of a node whose "
                "cleaning failed"
            )
        obj = self._find_instance(context, instance)
        if self._delete_started(obj, instance):
            return obj
        if self.board is None:
            # The create or delete that left this instance ACTIVE or in ERROR
            # may still be saving its records: it ends before this delete
            # begins. (With a board, the job waits for the instance's lock.)
            self.workers.wait_for_owner(obj.uuid, self.owner_wait)
        # The state change and the hand-over to a worker are one step.
        with self.workers.lock:
            obj.refresh(context)
            if self._delete_started(obj, instance):
                return obj  # a concurrent request started it
            if self.board is None:
                self.workers.check_free(obj.uuid)
            if force_release:
                LOG.warning(
                    "Instance %s: admin %s forces the release of its node, "
                    "cleaned or not",
                    obj.uuid,
                    getattr(context, "user_id", None),
                )
            saved = self._store.new(
                persistence.DELETE,
                obj.uuid,
                store={
                    constants.INSTANCE_UUID: obj.uuid,
                    constants.FORCE_RELEASE: bool(force_release),
                },
            )
            try:
                faults.transition(obj, states.DELETING)
            except exception.InvalidStateTransition:
                self._store.done(saved)
                # Another engine's request moved it first (compare-and-swap).
                obj.refresh(context)
                if self._delete_started(obj, instance):
                    return obj
                raise
            except Exception:
                self._store.done(saved)
                raise
            LOG.info("Deleting instance %s (%s)", obj.name, obj.uuid)
            try:
                self._start(context, saved)
            except exception.ServiceUnavailable as e:
                # The instance is DELETING and its flow saved: the sweep
                # posts it once the board is back; the delete is accepted.
                LOG.warning("Instance %s: %s; the delete is posted later", obj.uuid, e)
        return obj

    @messaging.expected_exceptions(*_EXPECTED)
    def set_power_state(self, context, instance, target):
        """Power an ACTIVE instance's node on, off or reboot it.

        Answers at once; a worker drives Ironic and records the new power
        state, or a fault naming the action (the instance stays ACTIVE: a
        failed power action changes nothing else).

        :raises InvalidInput: an unknown target.
        :raises InvalidStateTransition: the instance is not ACTIVE.
        :raises Conflict: another operation owns the instance.
        """
        if target not in states.POWER_TARGETS:
            raise exception.InvalidInput(
                reason=f"'target' must be one of {', '.join(states.POWER_TARGETS)}, "
                f"not {target!r}"
            )
        obj = self._find_instance(context, instance)
        with self.workers.lock:
            obj.refresh(context)
            if obj.status != states.ACTIVE or not obj.node_uuid:
                raise exception.InvalidStateTransition(
                    instance=obj.uuid, current=obj.status, target=f"power {target}"
                )
            if self.board is None:
                self.workers.submit(
                    obj.uuid,
                    power.set_power,
                    self.ironic,
                    obj.uuid,
                    obj.node_uuid,
                    target,
                    self.notifier,
                )
            else:
                self._post_power(obj, target)
        LOG.info("Instance %s: power %s requested", obj.uuid, target)
        return obj

    def _post_power(self, obj: instance_obj.Instance, target: str) -> None:
        """Post a power action as a job; refused while another operation
        of the instance is saved (posted, or running on an engine)."""
        if self.board.store.has_flow(obj.uuid):
            raise workers.busy(obj.uuid)
        saved = self._store.new(
            persistence.POWER,
            obj.uuid,
            store={
                constants.INSTANCE_UUID: obj.uuid,
                constants.NODE_UUID: obj.node_uuid,
                constants.POWER_TARGET: target,
            },
        )
        try:
            self._post(saved)
        except Exception:
            self._store.done(saved)
            raise

    def _post(self, saved: persistence.SavedFlow) -> None:
        try:
            self.board.post(saved)
        except jobboard.JobboardError as e:
            raise exception.ServiceUnavailable(
                service="The jobboard", reason=e.message
            ) from e

    @property
    def _store(self) -> persistence.FlowStore:
        """Where new flows are saved: the board's, or this host's."""
        return self.board.store if self.board is not None else self.flows

    @staticmethod
    def _delete_started(obj: instance_obj.Instance, ident: str) -> bool:
        """True if a delete is on its way; raises if none can start."""
        if obj.status == states.DELETED:
            raise exception.InstanceNotFound(instance=ident)
        if obj.status == states.DELETING:
            return True
        if not states.can_transition(obj.status, states.DELETING):
            raise exception.InvalidStateTransition(
                instance=obj.uuid, current=obj.status, target=states.DELETING
            )
        return False
