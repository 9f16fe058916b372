"""The engine manager: flavors and instances, create and delete orchestration.

RPC endpoints validate their input and answer at once; the work of creating
or deleting an instance runs on a bounded pool of worker threads.
"""

import concurrent.futures
import logging
import threading
import urllib.parse

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_utils import timeutils
from oslo_utils import uuidutils
import taskflow.engines
from taskflow import states as tf_states

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.engine import extensions as ext_mod
from mogan_valence.engine import faults
from mogan_valence.engine import persistence
from mogan_valence.engine import timing
from mogan_valence.engine.flows import constants
from mogan_valence.engine.flows import create_instance
from mogan_valence.engine.flows import delete_instance
from mogan_valence.objects import flavor as flavor_obj
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import instance_fault as fault_obj

LOG = logging.getLogger(__name__)

_EXPECTED = (
    exception.NotFound,
    exception.InvalidInput,
    exception.Conflict,
    exception.InvalidStateTransition,
)
MAX_NAME = 255
# What Ironic can deploy from, besides a Glance image UUID.
IMAGE_SCHEMES = ("http", "https", "file", "oci")


def _check_name(kind: str, name) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise exception.InvalidInput(
            reason=f"{kind} name must be 1 to {MAX_NAME} characters, not {name!r}"
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
    RPC_API_VERSION = "1.0"
    target = messaging.Target(version=RPC_API_VERSION)
    # How long a delete request waits for the worker of the previous
    # operation to end (it has shown ERROR or ACTIVE and is only saving its
    # records); then it is refused with a Conflict.
    owner_wait = 30.0

    def __init__(self, ironic, conf: cfg.ConfigOpts = cfg.CONF):
        self.conf = conf
        self.ironic = ironic
        self.extensions: list[ext_mod.EngineExtension] = []
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        # instance uuid -> the future of the one worker that owns it. Only
        # that worker changes the instance until it ends, including the
        # bookkeeping it does after the instance shows ERROR or ACTIVE.
        self._work: dict[str, concurrent.futures.Future] = {}
        self._work_lock = threading.RLock()

    # -- life cycle -------------------------------------------------------------

    def init_host(self) -> None:
        """Load extensions (fatal if one fails) and start the worker pool."""
        host = ext_mod.ExtensionHost(conf=self.conf, ironic=self.ironic)
        self.extensions = ext_mod.load(self.conf, host)
        self.flows = persistence.FlowStore(self.conf.engine.host)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.conf.engine.workers_pool_size, thread_name_prefix="engine"
        )

    def del_host(self, timeout: float | None = None) -> bool:
        """Stop taking work; wait up to ``timeout`` for work in flight.

        Returns False if work was still running when the time ran out.
        """
        if self._pool is None:
            return True
        with self._work_lock:
            pending = set(self._work.values())
        done, not_done = concurrent.futures.wait(pending, timeout=timeout)
        self._pool.shutdown(wait=not not_done, cancel_futures=True)
        if not_done:
            LOG.warning("Stopping with %d operation(s) still running", len(not_done))
        return not not_done

    def _submit(self, instance_uuid: str, fn, *args) -> concurrent.futures.Future:
        """Run ``fn`` on a worker that owns ``instance_uuid`` until it ends."""
        with self._work_lock:
            self._check_free(instance_uuid)
            future = self._pool.submit(fn, *args)
            self._work[instance_uuid] = future
        future.add_done_callback(lambda f: self._forget(instance_uuid, f))
        return future

    def _owner(self, instance_uuid: str) -> concurrent.futures.Future | None:
        """The worker still running on this instance, if any."""
        with self._work_lock:
            owner = self._work.get(instance_uuid)
        return owner if owner is not None and not owner.done() else None

    def _check_free(self, instance_uuid: str) -> None:
        if self._owner(instance_uuid) is not None:
            raise exception.Conflict(
                f"instance {instance_uuid} is still busy with its previous "
                "operation; try again"
            )

    def _forget(self, instance_uuid: str, future) -> None:
        with self._work_lock:
            if self._work.get(instance_uuid) is future:
                del self._work[instance_uuid]

    def _wait_for_owner(self, instance_uuid: str) -> None:
        """Give the worker that still owns an instance time to end."""
        owner = self._owner(instance_uuid)
        if owner is not None:
            concurrent.futures.wait([owner], timeout=self.owner_wait)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until no operation runs (tests and the demo)."""
        with self._work_lock:
            pending = set(self._work.values())
        concurrent.futures.wait(pending, timeout=timeout)

    # -- flavors -----------------------------------------------------------------

    def _check_with_extensions(self, flavor: dict) -> None:
        """A composed flavor needs an extension that composes; every enabled
        extension may refuse a flavor."""
        if flavor.get("composition") and not self._claiming_extension(flavor):
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

    def _claiming_extension(self, flavor: dict) -> ext_mod.EngineExtension | None:
        return next((e for e in self.extensions if e.claims_flavor(flavor)), None)

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
        _check_name("flavor", name)
        resources = resources or {}
        if not isinstance(resources, dict) or not all(
            isinstance(k, str) and k and v == 1 for k, v in resources.items()
        ):
            raise exception.InvalidInput(
                reason=f"resources must map a resource class to 1, not {resources!r}"
            )
        if len(resources) > 1:
            raise exception.InvalidInput(
                reason=f"a flavor names one resource class, not {sorted(resources)}"
            )
        resource_traits = resource_traits or {}
        if not isinstance(resource_traits, dict) or any(
            v not in ("required", "forbidden") for v in resource_traits.values()
        ):
            raise exception.InvalidInput(
                reason="resource_traits must map a trait to 'required' or 'forbidden'"
            )
        if not resources and not composition:
            raise exception.InvalidInput(
                reason="a flavor needs a resource class (resources) to schedule on, "
                "or a composition"
            )
        plain = {
            "uuid": None,
            "name": name,
            "resources": resources,
            "resource_traits": resource_traits,
            "composition": composition or None,
        }
        self._check_with_extensions(plain)
        flavor = flavor_obj.Flavor(
            name=name.strip(),
            description=description,
            resources=resources,
            resource_traits=resource_traits,
            composition=composition or None,
            is_public=bool(is_public),
        )
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
        return flavor_obj.Flavor.get(context, flavor)

    @messaging.expected_exceptions(*_EXPECTED)
    def delete_flavor(self, context, flavor):
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

    # -- instances ---------------------------------------------------------------

    @messaging.expected_exceptions(*_EXPECTED)
    def create_instance(self, context, name, flavor, image_source, description=None):
        _check_name("instance", name)
        if not isinstance(image_source, str) or not image_source.strip():
            raise exception.InvalidInput(reason="an image (image_source) is required")
        image_source = image_source.strip()
        scheme = urllib.parse.urlsplit(image_source).scheme
        if not uuidutils.is_uuid_like(image_source) and scheme not in IMAGE_SCHEMES:
            raise exception.InvalidInput(
                reason=f"image {image_source!r} is neither an image UUID nor a "
                f"{'/'.join(IMAGE_SCHEMES)} URL"
            )
        flavor_o = flavor_obj.Flavor.get(context, flavor)
        if flavor_o.disabled:
            raise exception.InvalidInput(reason=f"flavor {flavor_o.name} is disabled")
        # Re-checked before anything is composed: the extensions' view of
        # what is valid may have changed since the flavor was created.
        plain = flavor_dict(flavor_o)
        self._check_with_extensions(plain)
        instance = instance_obj.Instance(
            name=name.strip(),
            description=description,
            status=states.BUILDING,
            flavor_uuid=flavor_o.uuid,
            image_source=image_source.strip(),
            project_id=getattr(context, "project_id", None),
            user_id=getattr(context, "user_id", None),
            extra={},
        )
        instance.create(context)
        LOG.info(
            "Creating instance %s (%s) of flavor %s",
            instance.name,
            instance.uuid,
            flavor_o.name,
        )
        self._submit(
            instance.uuid,
            self._create,
            context,
            instance.uuid,
            plain,
            instance.image_source,
        )
        return instance

    def build_create_flow(self, context, instance_uuid: str, flavor: dict):
        tasks = create_instance.base_tasks(self.ironic)
        for extension in self.extensions:
            tasks = extension.reshape_create_flow(context, instance_uuid, flavor, tasks)
        return create_instance.get_create_instance_flow(
            tasks, self.conf.engine.schedule_max_attempts
        )

    def _create(self, context, instance_uuid: str, flavor: dict, image_source: str):
        store = {
            constants.INSTANCE_UUID: instance_uuid,
            constants.FLAVOR: flavor,
            constants.IMAGE_SOURCE: image_source,
        }
        saved = self.flows.new(persistence.CREATE, instance_uuid, store=store)
        self._run_create(context, saved)

    def _run_create(self, context, saved: persistence.SavedFlow) -> None:
        """Run (or resume) a saved create flow to its end."""
        instance_uuid = saved.instance_uuid
        started = timeutils.utcnow()
        timer = timing.StepTimer("create")
        try:
            flow = self.build_create_flow(
                context, instance_uuid, saved.meta["store"][constants.FLAVOR]
            )
            self._run_saved(flow, saved, timer)
        except Exception as e:  # noqa: BLE001  (recorded on the instance)
            self._ensure_error(instance_uuid, "create", e)
            self._save_steps(instance_uuid, timer)
            self.flows.done(saved)
            return
        instance = instance_obj.Instance.get(context, instance_uuid)
        timer.save_to(instance)
        faults.transition(instance, states.ACTIVE)
        instance.launched_at = timeutils.utcnow()
        instance.power_state = states.POWER_ON
        instance.save()
        self.flows.done(saved)
        LOG.info(
            "Instance %s is ACTIVE on node %s after %.1fs",
            instance_uuid,
            instance.node_uuid,
            timeutils.delta_seconds(started, timeutils.utcnow()),
        )

    def _run_saved(self, flow, saved: persistence.SavedFlow, timer) -> None:
        if saved.flow_detail.state in (tf_states.REVERTED, tf_states.FAILURE):
            # It ended badly before the engine could clean up: its revert
            # already ran (the lifecycle task recorded the fault).
            raise exception.MoganValenceException(
                f"{saved.kind} of {saved.instance_uuid} had failed and was reverted"
            )
        engine = taskflow.engines.load(
            flow,
            store=saved.meta["store"] if saved.flow_detail.state is None else None,
            flow_detail=saved.flow_detail,
            book=saved.book,
            backend=self.flows.backend,
            engine="serial",
        )
        timer.attach(engine)
        engine.run()

    def resume_unfinished(self, context=None) -> int:
        """Resume every flow this engine left unfinished (at start)."""
        saved_flows = self.flows.unfinished()
        resumed = set()
        for saved in saved_flows:
            LOG.warning(
                "Resuming the %s of instance %s, left unfinished by a previous "
                "run of this engine",
                saved.kind,
                saved.instance_uuid,
            )
            resumed.add(saved.instance_uuid)
            if saved.kind == persistence.CREATE:
                self._submit(saved.instance_uuid, self._run_create, context, saved)
            else:
                self._submit(saved.instance_uuid, self._run_delete, context, saved)
        # Work that died before its flow was saved: nothing was done yet.
        for instance in instance_obj.Instance.list(context):
            if instance.uuid in resumed:
                continue
            if instance.status == states.DELETING:
                LOG.warning("Restarting the delete of instance %s", instance.uuid)
                self._submit(instance.uuid, self._delete, context, instance.uuid)
                resumed.add(instance.uuid)
            elif instance.status == states.BUILDING:
                faults.record_failure(
                    instance.uuid,
                    "create",
                    exception.MoganValenceException(
                        "the engine stopped before this create started; nothing "
                        "was done for it"
                    ),
                    context=context,
                )
        return len(resumed)

    @staticmethod
    def _save_steps(instance_uuid: str, timer: timing.StepTimer) -> None:
        try:
            instance = instance_obj.Instance.get(None, instance_uuid)
            timer.save_to(instance)
            instance.save()
        except Exception:  # noqa: BLE001  (timings are informational)
            LOG.exception("Could not record step timings of %s", instance_uuid)

    def _ensure_error(self, instance_uuid: str, step: str, error) -> None:
        """The flow's lifecycle task records the fault; this covers the rest
        (a failure while building the flow, or inside a revert)."""
        try:
            instance = instance_obj.Instance.get(None, instance_uuid)
            if instance.status != states.ERROR:
                faults.record_failure(instance_uuid, step, error)
            else:
                LOG.warning("Instance %s failed: %s", instance_uuid, error)
        except Exception:  # noqa: BLE001
            LOG.exception(
                "Instance %s failed and could not be marked ERROR", instance_uuid
            )

    @messaging.expected_exceptions(*_EXPECTED)
    def list_instances(self, context, include_deleted=False):
        return instance_obj.Instance.list(context, include_deleted=include_deleted)

    @messaging.expected_exceptions(*_EXPECTED)
    def get_instance(self, context, instance):
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
    def delete_instance(self, context, instance):
        obj = self._find_instance(context, instance)
        if self._delete_started(obj, instance):
            return obj
        # The create or delete that left this instance ACTIVE or in ERROR may
        # still be saving its records: it ends before this delete begins.
        self._wait_for_owner(obj.uuid)
        with self._work_lock:
            obj.refresh(context)
            if self._delete_started(obj, instance):
                return obj  # a concurrent request started it
            self._check_free(obj.uuid)
            faults.transition(obj, states.DELETING)
            obj.save(context)
            LOG.info("Deleting instance %s (%s)", obj.name, obj.uuid)
            self._submit(obj.uuid, self._delete, context, obj.uuid)
        return obj

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

    def delete_steps(self, context, instance) -> list[ext_mod.DeleteStep]:
        steps = []
        if instance.node_uuid:
            node = instance.node_uuid
            steps.append(
                ext_mod.DeleteStep("undeploy", lambda: self.ironic.undeploy(node))
            )
        for extension in self.extensions:
            steps.extend(extension.delete_steps(context, instance))
        return steps

    def _delete(self, context, instance_uuid: str):
        saved = self.flows.new(
            persistence.DELETE,
            instance_uuid,
            store={constants.INSTANCE_UUID: instance_uuid},
        )
        self._run_delete(context, saved)

    def _run_delete(self, context, saved: persistence.SavedFlow) -> None:
        instance_uuid = saved.instance_uuid
        instance = instance_obj.Instance.get(context, instance_uuid)
        timer = timing.StepTimer("delete")
        try:
            flow = delete_instance.get_delete_instance_flow(
                self.delete_steps(context, instance)
            )
            self._run_saved(flow, saved, timer)
        except Exception as e:  # noqa: BLE001  (recorded on the instance)
            self._ensure_error(instance_uuid, "delete", e)
            self._save_steps(instance_uuid, timer)
            self.flows.done(saved)
            return
        instance.refresh()
        timer.save_to(instance)
        faults.transition(instance, states.DELETED)
        instance.power_state = None
        instance.save()
        self.flows.done(saved)
        LOG.info("Instance %s deleted", instance_uuid)
