"""Real services on loopback for the demo and the functional tests.

Each helper starts a real process (Ironic, RabbitMQ, the simulator) in its
own process group on free ports, waits for it with a deadline, and tears it
down even when something fails half-way.
"""
