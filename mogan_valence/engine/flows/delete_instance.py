"""The delete-instance flow: the delete steps, in order, as a durable flow."""

from taskflow import task
from taskflow.patterns import linear_flow

from mogan_valence.engine.flows import lifecycle_tasks

DELETE_INSTANCE_FLOW = "delete-instance"


class DeleteStepTask(task.Task):
    """One idempotent step of a teardown (undeploy, unenroll, release, ...).

    Reversion strategy: none: what was torn down stays torn down; the
    lifecycle task records which step failed, and a repeated delete resumes.
    """

    def __init__(self, step, **kwargs):
        super().__init__(name=step.name, **kwargs)
        self.step = step

    def execute(self):
        self.step.run()


def get_delete_instance_flow(steps: list, timer=None):
    """DELETING, the teardown steps in order, then DELETED: all atoms."""
    flow = linear_flow.Flow(DELETE_INSTANCE_FLOW)
    flow.add(lifecycle_tasks.InstanceToErrorOnRevertTask([s.name for s in steps]))
    flow.add(lifecycle_tasks.MarkInstanceDeletingTask())
    flow.add(*[DeleteStepTask(step) for step in steps])
    flow.add(lifecycle_tasks.MarkInstanceDeletedTask(timer))
    return flow
