"""The examples under each `meterkit provision <action> --help` (English / italiano)."""

from __future__ import annotations

__all__ = ["EXAMPLES"]

_GW = "--gateway-config /etc/meterkit/gateway.toml"

EXAMPLES: dict[str, str] = {
    "bulk": f"""\
examples / esempi:
  # boards.csv:  port,site,channels,device_id,building,apn
  #              /dev/ttyUSB0,scuola-rodari,0:ct:SCT-013-030;1:gas:10,0000a1b2,palestra,
  sudo -u meterkit meterkit provision bulk boards.csv {_GW} \\
      --gateway-host gw.comune.it --label-dir /var/lib/meterkit/labels
  meterkit provision bulk boards.csv --gateway-host gw.comune.it --bundle day.mkb \\
      --gateway-pubkey bundle.pub --installer-key ~/.meterkit/installer.key --json
""",
    "check": """\
examples / esempi:
  meterkit provision check --port /dev/ttyUSB0            # self-test, then restart the board
  meterkit provision check --port COM5 --lang it --json   # machine-readable, Italian messages
  meterkit provision check --port /dev/ttyUSB0 --no-reboot  # leave it in its REPL
""",
    "rotate": f"""\
examples / esempi:
  sudo -u meterkit meterkit provision rotate --port /dev/ttyUSB0 {_GW} --wait-hello 120
  meterkit provision rotate --port /dev/ttyUSB0 --bundle day.mkb \\
      --gateway-pubkey bundle.pub --installer-key ~/.meterkit/installer.key
""",
    "decommission": f"""\
examples / esempi:
  # board connected: its config and key are erased too / scheda collegata: cancellata anche lei
  sudo -u meterkit meterkit provision decommission 0000a1b2 --port /dev/ttyUSB0 {_GW} --yes
  # board lost or broken: only the gateway's registration
  sudo -u meterkit meterkit provision decommission 0000a1b2 {_GW} --yes
""",
    "label": """\
examples / esempi:
  meterkit provision label --id 0000a1b2 --site scuola-rodari --building palestra \\
      --channel 0:ct:SCT-013-030 --channel 1:gas:10 --out etichette/
""",
    "ct-models": """\
examples / esempi:
  meterkit provision ct-models           # the table: model, rating, ct_ratio, burden, max_a
  meterkit provision ct-models --json
""",
    "keys": """\
examples / esempi:
  # on the gateway (deploy/install.sh already did it) / sul gateway (già fatto da install.sh)
  sudo meterkit provision keys gateway --dir /etc/meterkit
  sudo chown meterkit:meterkit /etc/meterkit/bundle.key
  # on the installer's laptop, once / sul portatile dell'installatore, una volta
  meterkit provision keys installer --dir ~/.meterkit
""",
    "ports": """\
examples / esempi:
  meterkit provision ports               # e.g. /dev/ttyUSB0  CP2102 USB to UART Bridge
  meterkit provision ports --json
""",
}
