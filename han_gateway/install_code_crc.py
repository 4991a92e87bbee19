"""The checksum that closes an install code: CRC-16/X.25, little-endian, as zigpy checks it.

zigpy validates install codes with crccheck's CRC-16/X.25 (``zigpy.util.convert_install_code``)
but has no public function that computes one; this is the same computation, so a code the
portal or the simulator writes is one zigpy accepts. Imports no Django.
"""

from crccheck.crc import CrcX25


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 (reflected 0x1021, init and final XOR 0xFFFF) of ``data``."""
    return int(CrcX25.calc(data))


def install_code_with_crc(payload: bytes) -> bytes:
    """Append the checksum (little-endian, as printed on labels) to a 6, 8, 12 or 16 byte code."""
    return payload + crc16_x25(payload).to_bytes(2, "little")
