"""The sticker for a board: id, site, building and channel settings as text and a QR code PNG.

The key is never on a label: whoever reads the sticker must not be able to forge frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from provisioning.channels import Channel
from provisioning.diskio import writing

__all__ = ["label_payload", "label_text", "write_label", "write_label_png"]


def _channel_code(c: Channel) -> str:
    if c.kind == "ct":
        return f"{c.index}:ct:{c.model}" + ("" if c.model != "custom" else
                                             f":ratio={c.ct_ratio:g}:burden_ohm={c.burden_ohm:g}")
    return f"{c.index}:gas:{c.litres_per_pulse:g}"


def label_payload(device_id: str, site: str, building: str,
                  channels: Sequence[Channel]) -> str:
    """What the QR code holds: `MK1;id=…;site=…;bld=…;ch=…` (the channel specs as typed)."""
    parts = [f"MK1;id={device_id}", f"site={site}"]
    if building:
        parts.append(f"bld={building}")
    parts.append("ch=" + ",".join(_channel_code(c) for c in channels))
    return ";".join(parts)


def label_text(device_id: str, site: str, building: str, channels: Sequence[Channel], *,
               firmware: str = "") -> str:
    lines = [f"meterkit  ID {device_id[:4]}-{device_id[4:]}", f"site: {site}"]
    if building:
        lines.append(f"building/edificio: {building}")
    lines += [f"  {c.summary()}" for c in channels]
    if firmware:
        lines.append(f"fw {firmware}")
    return "\n".join(lines) + "\n"


def write_label_png(path: Path, payload: str) -> Path:
    """A QR code (error correction M: survives a scuffed sticker) as a PNG file."""
    import qrcode
    from qrcode.image.pure import PyPNGImage

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    img = qr.make_image(image_factory=PyPNGImage)
    with writing(path, "label"):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            img.save(f)
    return path


def write_label(directory: Path, device_id: str, site: str, building: str,
                channels: Sequence[Channel], *, firmware: str = "") -> tuple[Path, Path, str]:
    """`label-<id>.txt` and `label-<id>.png` in `directory`: (txt, png, QR payload)."""
    txt = directory / f"label-{device_id}.txt"
    with writing(txt, "label"):
        directory.mkdir(parents=True, exist_ok=True)
        txt.write_text(label_text(device_id, site, building, channels, firmware=firmware))
    payload = label_payload(device_id, site, building, channels)
    png = write_label_png(directory / f"label-{device_id}.png", payload)
    return txt, png, payload
