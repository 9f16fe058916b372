"""Names in flow stores and atom names.

Atom names are stable on purpose: once flows are persisted, renaming one is
an upgrade problem.
"""

# Store keys (plain data only: ids, strings, JSON-able dicts).
INSTANCE_UUID = "instance_uuid"
FLAVOR = "flavor"  # {"uuid", "name", "resources", "resource_traits", "composition"}
IMAGE_SOURCE = "image_source"
NODE_UUID = "node_uuid"
EXCLUDED_NODES = "excluded_nodes"

# Flows.
CREATE_INSTANCE_FLOW = "create-instance"
SCHEDULE_AND_DEPLOY_FLOW = "schedule-and-deploy"
