"""Quadlet for any Podman: ``.container``, ``.pod``, ``.volume``, ``.network``, ``.kube``,
``.image``, ``.build`` and ``.artifact`` files turned into systemd services, as Podman's
own Quadlet generator does (podman-systemd.unit(5)).

``cli.main`` is the generator program, ``generator.generate`` one run, ``parser.UnitFile``
the unit-file model and ``split`` systemd's exec-line word rules.
"""
