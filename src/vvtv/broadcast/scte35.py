"""SCTE-35 splice_info_section with a splice_insert command, as HLS carries it in SCTE35-OUT/IN.

An ad insertion server (AWS MediaTailor, an Elemental or Broadpeak packager) reads
the binary cue from EXT-X-DATERANGE: the OUT cue leaves the network for the break
(with its duration and auto-return), the IN cue returns to it. Both are
"immediate": in HLS the position of the date range says where the splice is, so
no presentation time is needed. Layout per ANSI/SCTE 35 2022, sections 9.6 and
9.7.3; the CRC is CRC-32/MPEG-2.
"""

from __future__ import annotations

from dataclasses import dataclass

TABLE_ID = 0xFC
SPLICE_INSERT = 0x05
TICKS_PER_SECOND = 90_000
SAP_NOT_SPECIFIED = 0b11
ALL_TIERS = 0xFFF


@dataclass(frozen=True, kw_only=True)
class SpliceInsert:
    event_id: int  # splice_event_id: the same for a break's OUT and IN
    out_of_network: bool  # True: the break starts (OUT); False: back to the network (IN)
    duration_ticks: int | None = None  # break_duration in 90 kHz ticks, with auto_return (OUT only)
    unique_program_id: int = 1


def splice_insert_section(command: SpliceInsert) -> bytes:
    body = _splice_insert(command)
    header_after_length = bytes([0x00])  # protocol_version
    # encrypted_packet(1) = 0, encryption_algorithm(6) = 0, pts_adjustment(33) = 0
    header_after_length += (0).to_bytes(5, "big")
    header_after_length += bytes([0x00])  # cw_index
    # tier(12) and splice_command_length(12)
    header_after_length += ((ALL_TIERS << 12) | len(body)).to_bytes(3, "big")
    header_after_length += bytes([SPLICE_INSERT]) + body
    header_after_length += (0).to_bytes(2, "big")  # descriptor_loop_length: no descriptors
    section_length = len(header_after_length) + 4  # and the CRC
    # section_syntax_indicator(1) = 0, private_indicator(1) = 0, sap_type(2), section_length(12)
    first = bytes([TABLE_ID]) + ((SAP_NOT_SPECIFIED << 12) | section_length).to_bytes(2, "big")
    section = first + header_after_length
    return section + crc32_mpeg2(section).to_bytes(4, "big")


def _splice_insert(command: SpliceInsert) -> bytes:
    out = command.event_id.to_bytes(4, "big")
    out += bytes([0x7F])  # splice_event_cancel_indicator = 0, reserved
    has_duration = command.duration_ticks is not None
    flags = (
        (command.out_of_network << 7)
        | (1 << 6)  # program_splice_flag: the whole programme, no per-component splices
        | (has_duration << 5)
        | (1 << 4)  # splice_immediate_flag: no splice_time()
        | (1 << 3)  # event_id_compliance_flag
        | 0b111  # reserved
    )
    out += bytes([flags])
    if has_duration:
        assert command.duration_ticks is not None
        # auto_return(1) = 1, reserved(6) all ones, duration(33)
        out += ((1 << 39) | (0b111111 << 33) | (command.duration_ticks & (2**33 - 1))).to_bytes(5, "big")
    out += command.unique_program_id.to_bytes(2, "big")
    out += bytes([0, 0])  # avail_num, avails_expected
    return out


def crc32_mpeg2(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def hex_cue(command: SpliceInsert) -> str:
    """The section as an EXT-X-DATERANGE SCTE35-OUT/IN value (hexadecimal, 0x prefix)."""
    return "0x" + splice_insert_section(command).hex().upper()
