"""Provisioning of meter boards: identity, keys, firmware and config over USB, registration.

The CLI is `meterkit provision` (provisioning/cli.py); the library entry points are
`provisioning.flow` (provision, rotate, decommission), `provisioning.bundle`
(create_bundle/open_bundle) and `provisioning.gateway_import` (the gateway's import command).
Submodules are imported on use, so `meterkit --help` stays instant.
"""
