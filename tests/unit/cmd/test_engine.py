"""mogan-valence-engine's start-up."""

import gc
import weakref

from mogan_valence.cmd import engine
from tests import base


class Cycle:
    def __init__(self):
        self.me = self


class TestFreezeStartupObjects(base.TestCase):
    def setUp(self):
        super().setUp()
        self.addCleanup(gc.unfreeze)

    def test_what_start_up_made_is_left_out_of_collections(self):
        made = Cycle()
        engine._freeze_startup_objects()
        self.assertGreater(gc.get_freeze_count(), 0)
        dropped = weakref.ref(made)
        del made
        gc.collect()
        # Frozen: a full collection no longer walks it, nor frees it.
        self.assertIsNotNone(dropped())

    def test_what_is_made_later_is_still_collected(self):
        engine._freeze_startup_objects()
        later = weakref.ref(Cycle())
        gc.collect()
        self.assertIsNone(later())
