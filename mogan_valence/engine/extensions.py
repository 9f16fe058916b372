"""The engine's extension point (ARCHITECTURE section 6).

Extensions are classes registered in the ``mogan.engine.extensions`` entry
point namespace and enabled by name in ``[engine] enabled_extensions``. The
engine instantiates each with an ``ExtensionHost``: everything an extension
may use of the engine is on it, so that an extension never imports engine
internals and could be carried to another Mogan-shaped host.
"""

import dataclasses
import logging
from collections.abc import Callable

from oslo_config import cfg
import stevedore

from mogan_valence.common import coordination as coordination_mod
from mogan_valence.common import exception
from mogan_valence.engine.flows import constants

LOG = logging.getLogger(__name__)

NAMESPACE = "mogan.engine.extensions"

# The flow store keys an extension's tasks may require or provide.
INSTANCE_UUID = constants.INSTANCE_UUID
FLAVOR = constants.FLAVOR
IMAGE_SOURCE = constants.IMAGE_SOURCE
NODE_UUID = constants.NODE_UUID
EXCLUDED_NODES = constants.EXCLUDED_NODES


class ExtensionLoadError(exception.MoganValenceException):
    msg_fmt = "Cannot load engine extension(s): %(reason)s"


@dataclasses.dataclass
class ExtensionHost:
    """What the engine hands its extensions.

    :param conf: the engine's configuration.
    :param ironic: the engine's ``mogan_valence.ironic.client.IronicClient``.
    :param coordination: locks and bounded slots shared by every engine
        (``mogan_valence.common.coordination``): ``lock(name)``,
        ``try_lock(name)``, ``slot(name, size)``.
    """

    conf: cfg.ConfigOpts
    ironic: object
    coordination: object = dataclasses.field(
        default_factory=coordination_mod.LocalCoordinator
    )


@dataclasses.dataclass
class DeleteStep:
    """One named, idempotent step of an instance's teardown."""

    name: str
    run: Callable[[], None]


@dataclasses.dataclass
class PeriodicTask:
    name: str
    interval: float
    run: Callable[[], None]


class EngineExtension:
    """Base class of engine extensions. Every hook is optional.

    The engine calls, for every flavor and instance:

    - ``validate_flavor(flavor)`` when a flavor is created;
    - ``claims_flavor(flavor)``: whether this extension provisions instances
      of that flavor (a flavor with a composition needs one that does);
    - ``requested_hardware(flavor)`` for a flavor it claims, before an
      instance of it is written: what the quota counts (``cores``,
      ``ram_mib``, ``disk_gb``);
    - ``reshape_create_flow(context, instance_uuid, flavor, tasks)`` when an
      instance is created: receives the base task list (scheduling tasks
      have ``is_scheduling = True``) and returns the list to run; it may add
      tasks ahead of the base tasks and drop the scheduling ones;
    - ``delete_steps(context, instance)`` when an instance is deleted: steps
      to run after the base undeploy, in order;
    - ``periodic_tasks()`` once at start: tasks the engine runs on their
      interval until it stops.

    Flavors reach hooks as plain dicts (``uuid``, ``name``, ``resources``,
    ``resource_traits``, ``composition``); instances as ``Instance`` objects.
    """

    name = "extension"

    def __init__(self, host: ExtensionHost):
        self.host = host

    def validate_flavor(self, flavor: dict) -> None:
        """Raise ``InvalidInput`` naming what is wrong with ``flavor``."""

    def claims_flavor(self, flavor: dict) -> bool:
        return False

    def requested_hardware(self, flavor: dict) -> dict[str, int]:
        """What an instance of ``flavor`` will hold: some of ``cores``,
        ``ram_mib`` and ``disk_gb`` (a missing one counts 0).

        :raises InvalidInput: the amounts cannot be known.
        """
        return {}

    def reshape_create_flow(
        self, context, instance_uuid: str, flavor: dict, tasks: list
    ) -> list:
        return tasks

    def delete_steps(self, context, instance) -> list[DeleteStep]:
        return []

    def periodic_tasks(self) -> list[PeriodicTask]:
        return []


def load(conf: cfg.ConfigOpts, host: ExtensionHost) -> list[EngineExtension]:
    """Instantiate the enabled extensions, in the configured order.

    :raises ExtensionLoadError: naming each extension that is not installed,
        fails to import or to initialise, or is not an EngineExtension.
    """
    names = [n.strip() for n in conf.engine.enabled_extensions if n.strip()]
    if not names:
        return []
    problems: list[str] = []

    def missing(found_names):
        for name in sorted(found_names):
            problems.append(
                f"'{name}' is not installed (no entry point of that name "
                f"in {NAMESPACE})"
            )

    def failed(manager, entrypoint, error):
        problems.append(
            f"'{entrypoint.name}' failed to load: {type(error).__name__}: {error}"
        )

    manager = stevedore.NamedExtensionManager(
        NAMESPACE,
        names,
        invoke_on_load=True,
        invoke_args=(host,),
        name_order=True,
        on_load_failure_callback=failed,
        on_missing_entrypoints_callback=missing,
    )
    loaded = []
    for ext in manager.extensions:
        if not isinstance(ext.obj, EngineExtension):
            problems.append(f"'{ext.name}' is not an EngineExtension")
            continue
        loaded.append(ext.obj)
    if problems:
        raise ExtensionLoadError(reason="; ".join(problems))
    LOG.info("Engine extensions loaded: %s", ", ".join(names))
    return loaded
