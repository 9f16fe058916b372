"""Names in flow stores and atom names.

Store keys are defined here once; extensions get them from
``mogan_valence.engine.extensions`` (which re-exports them). Atom names are
stable on purpose: once flows are persisted, renaming one is an upgrade
problem.
"""

# Store keys (plain data only: ids, strings, JSON-able dicts).
INSTANCE_UUID = "instance_uuid"
FLAVOR = "flavor"  # {"uuid", "name", "resources", "resource_traits", "composition"}
IMAGE_SOURCE = "image_source"
NODE_UUID = "node_uuid"
EXCLUDED_NODES = "excluded_nodes"
FORCE_RELEASE = "force_release"  # delete: an admin's release past a failed clean
POWER_TARGET = "power_target"  # power: on, off, reboot, soft_off, soft_reboot

# Flows.
CREATE_INSTANCE_FLOW = "create-instance"
SCHEDULE_AND_DEPLOY_FLOW = "schedule-and-deploy"
