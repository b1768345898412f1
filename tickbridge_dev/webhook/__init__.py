"""The webhook's test bed (``testbed``: an engine and the platform simulator on loopback)
and its load generator (``loadgen``), for the webhook tests and the ``webhook`` benchmark."""
