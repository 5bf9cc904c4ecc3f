"""Simulated Eastron meters on pymodbus's own server (TCP, and RTU over bridged pty pairs).

The test sets each meter's values (kWh, W) and may silence a unit; the server counts the
requests each unit received. Values are encoded from the same map files the plugin reads, as
float32 high word first — the Eastron layout — independently of the plugin's decoder.
"""

from __future__ import annotations

import asyncio
import os
import pty
import struct
import tty
from dataclasses import dataclass, field
from functools import partial

from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from gateway.modbus.regmap import load_map

BLOCK = 0x80  # registers 0..127 of each table: covers every SDM address the maps use


@dataclass
class Meter:
    """One simulated meter: unit id, its map, the values served (in the map's units)."""

    unit: int
    map_name: str
    values: dict[str, float] = field(default_factory=dict)
    silent: bool = False
    requests: int = 0

    def __post_init__(self) -> None:
        self.map = load_map(self.map_name)

    def set(self, **values: float) -> None:
        unknown = set(values) - set(self.map.registers)
        if unknown:
            raise KeyError(f"{self.map_name} has no register {sorted(unknown)}")
        self.values.update(values)

    async def action(self, function_code: int, start_address: int, address: int, count: int,
                     registers: list[int], set_values: object) -> None:
        """pymodbus calls this on each access: write the current values into the block."""
        self.requests += 1
        for name, spec in self.map.registers.items():
            if spec.function != function_code:
                continue
            hi, lo = struct.unpack(">HH", struct.pack(">f", self.values.get(name, 0.0)))
            registers[spec.address - start_address] = hi
            registers[spec.address - start_address + 1] = lo

    def sim_device(self) -> SimDevice:
        def block() -> list[SimData]:
            return [SimData(0, count=BLOCK, values=0, datatype=DataType.REGISTERS)]

        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        return SimDevice(self.unit, simdata=(list(bits), list(bits), block(), block()),
                         action=partial(Meter.action, self))


class _Silencer:
    """Server-side trace: drops the responses of silenced units (they never answer)."""

    def __init__(self, meters: dict[int, Meter], unit_offset: int) -> None:
        self.meters = meters
        self.offset = unit_offset   # where the unit id sits in a frame: 6 (MBAP), 0 (RTU)

    def __call__(self, sending: bool, data: bytes) -> bytes:
        if sending and len(data) > self.offset:
            meter = self.meters.get(data[self.offset])
            if meter is not None and meter.silent:
                return b""
        return data


class TcpMeters:
    """A Modbus TCP server on 127.0.0.1:`port` serving `meters`; start(), stop(), restart."""

    def __init__(self, port: int, *meters: Meter) -> None:
        self.port = port
        self.meters = {m.unit: m for m in meters}
        self.server: ModbusTcpServer | None = None

    async def start(self) -> None:
        self.server = ModbusTcpServer([m.sim_device() for m in self.meters.values()],
                                      address=("127.0.0.1", self.port),
                                      trace_packet=_Silencer(self.meters, 6))
        await self.server.serve_forever(background=True)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None


class PtyBridge:
    """Two pseudo-terminal pairs whose master sides are joined: a null-modem cable in software.

    The client opens `client_path`, the server `server_path`; bytes written on one side come
    out on the other, as on a two-wire RS-485 line with one master and its slaves.
    """

    def __init__(self) -> None:
        self._m1, self._s1 = pty.openpty()
        self._m2, self._s2 = pty.openpty()
        for fd in (self._s1, self._s2):
            tty.setraw(fd)   # no echo, no line editing: bytes pass unchanged
        self.client_path = os.ttyname(self._s1)
        self.server_path = os.ttyname(self._s2)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._m1, self._pump, self._m1, self._m2)
        self._loop.add_reader(self._m2, self._pump, self._m2, self._m1)

    @staticmethod
    def _pump(src: int, dst: int) -> None:
        try:
            data = os.read(src, 4096)
        except OSError:   # EIO while no process has the slave side open
            return
        os.write(dst, data)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._m1)
            self._loop.remove_reader(self._m2)
        for fd in (self._m1, self._s1, self._m2, self._s2):
            os.close(fd)


class RtuMeters:
    """A Modbus RTU server on the server side of a :class:`PtyBridge`."""

    def __init__(self, bridge: PtyBridge, *meters: Meter) -> None:
        self.bridge = bridge
        self.meters = {m.unit: m for m in meters}
        self.server: ModbusSerialServer | None = None

    async def start(self) -> None:
        self.server = ModbusSerialServer([m.sim_device() for m in self.meters.values()],
                                         framer=FramerType.RTU, port=self.bridge.server_path,
                                         baudrate=9600, timeout=0.2,
                                         trace_packet=_Silencer(self.meters, 0))
        await self.server.serve_forever(background=True)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None
