"""mogan-valence-redfish-simulator's command line."""

from unittest import mock

import pytest

from mogan_valence.cmd import redfish_simulator


def options_of(*argv):
    with (
        mock.patch.object(
            redfish_simulator.server, "CompositionSimulator"
        ) as simulator,
        mock.patch.object(redfish_simulator.threading, "Event"),
    ):
        simulator.return_value.url = "http://127.0.0.1:1"
        assert redfish_simulator.main(list(argv)) == 0
    return simulator.call_args.args[0]


def test_defaults():
    options = options_of()
    assert options.port == 8183
    assert (options.username, options.password) == ("admin", "password")
    assert options.mode == "sync"
    assert options.forms == ("specific", "constrained")
    assert options.compose_action is True
    assert options.reservation_duration == 300
    assert options.power_delay is None
    assert options.emulator is True


def test_flags():
    options = options_of(
        "--mode",
        "async",
        "--forms",
        "constrained",
        "--no-compose-action",
        "--reservation-duration",
        "30",
        "--power-delay",
        "0",
        "--compute-blocks",
        "6",
        "--zones",
        "3",
        "--retry-after",
        "seconds",
        "--no-auth",
    )
    assert options.mode == "async"
    assert options.forms == ("constrained",)
    assert options.compose_action is False
    assert options.reservation_duration == 30
    assert options.power_delay == 0
    assert (options.compute_blocks, options.zones) == (6, 3)
    assert options.retry_after == "seconds"
    assert options.username is None


@pytest.mark.parametrize("forms", ["", "specific,magic"])
def test_bad_forms(forms, capsys):
    with pytest.raises(SystemExit):
        redfish_simulator.main(["--forms", forms])
    assert "--forms" in capsys.readouterr().err


def test_bad_pod_size(capsys):
    assert redfish_simulator.main(["--compute-blocks", "0"]) == 2
