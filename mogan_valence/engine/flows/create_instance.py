"""The create-instance flow."""

from taskflow.patterns import linear_flow

from mogan_valence.engine.flows import constants
from mogan_valence.engine.flows import instance_tasks
from mogan_valence.engine.flows import lifecycle_tasks


def base_tasks(ironic) -> list:
    """The base task list extensions reshape: schedule, then deploy."""
    return [
        instance_tasks.ScheduleCreateInstanceTask(ironic),
        instance_tasks.DeployInstanceTask(ironic),
    ]


def get_create_instance_flow(tasks: list, max_attempts: int, timer=None):
    """Build the flow around ``tasks`` (the base list or an extension's).

    The flow begins with the lifecycle task and ends with the atom that
    marks the instance ACTIVE: nothing of the life cycle runs outside it.

    From the first scheduling task on, the tasks run as one attempt that
    ``OnFailureRescheduleTask`` may repeat on another node; tasks before it
    (an extension's) run once. A list without scheduling tasks (a composed
    node *is* the placement) is never rescheduled.
    """
    flow = linear_flow.Flow(constants.CREATE_INSTANCE_FLOW)
    flow.add(lifecycle_tasks.InstanceToErrorOnRevertTask([t.name for t in tasks]))
    first = next(
        (i for i, t in enumerate(tasks) if getattr(t, "is_scheduling", False)), None
    )
    if first is None:
        flow.add(*tasks)
    else:
        flow.add(*tasks[:first])
        attempt = linear_flow.Flow(
            constants.SCHEDULE_AND_DEPLOY_FLOW,
            retry=instance_tasks.OnFailureRescheduleTask(max_attempts),
        )
        attempt.add(*tasks[first:])
        flow.add(attempt)
    flow.add(lifecycle_tasks.MarkInstanceActiveTask(timer))
    return flow
