# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Go version a binary was built with, read from its ``.go.buildinfo`` blob.

Kubernetes components, etcd, calico and CNI plugins are Go programs; with no
/etc/nsswitch.conf, Go's own resolver before Go 1.16 asked DNS before
/etc/hosts (the F3 incident), from 1.16 on it reads files first.

Every Go binary since 1.13 carries ``\\xff Go buildinf:``, a pointer size
byte and a flags byte. Go 1.18+ (flag bit 2) follows with the version as a
varint-length string; older ones store two pointers to Go string headers,
resolved here through the ELF program headers. The file is mapped, not read.
Standard library only (runs on managed hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import mmap
import os
import re
import struct

MAGIC = b"\xff Go buildinf:"
ELF_MAGIC = b"\x7fELF"
PT_LOAD, PT_INTERP = 1, 3
_VERSION = re.compile(rb"^go1\.\d+(?:\.\d+)?(?:[a-z]+\d*)?$")
FILES_FIRST_SINCE = (1, 16)
# Go 1.12 and older wrote no .go.buildinfo, only a Go build id note and a pclntab section.
OLDER_THAN_BUILDINFO = "go1.12 or older"

# Where Kubernetes hosts and images keep the Go programs that resolve names.
DEFAULT_PATTERNS = (
    "usr/bin/kube*",
    "usr/local/bin/kube*",
    "usr/bin/etcd*",
    "usr/local/bin/etcd*",
    "usr/bin/calico*",
    "usr/local/bin/calico*",
    "bin/calico-node",
    "usr/bin/flanneld",
    "opt/bin/flanneld",
    "usr/bin/containerd",
    "usr/local/bin/containerd",
    "usr/bin/crictl",
    "usr/local/bin/crictl",
    "usr/local/bin/*",
    "opt/cni/bin/*",
    "*",
)
MAX_BINARIES = 64


def _varint(data, pos):
    value, shift = 0, 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("bad varint")


class _Elf:
    """Just enough ELF to map virtual addresses to file offsets and see PT_INTERP."""

    def __init__(self, data):
        if data[:4] != ELF_MAGIC or len(data) < 64:
            raise ValueError("not an ELF file")
        self.bits = 64 if data[4] == 2 else 32
        self.endian = "<" if data[5] == 1 else ">"
        e = self.endian
        if self.bits == 64:
            (phoff, self.shoff) = struct.unpack_from(e + "QQ", data, 32)
            phentsize, phnum, self.shentsize, self.shnum, self.shstrndx = struct.unpack_from(e + "HHHHH", data, 54)
        else:
            (phoff, self.shoff) = struct.unpack_from(e + "II", data, 28)
            phentsize, phnum, self.shentsize, self.shnum, self.shstrndx = struct.unpack_from(e + "HHHHH", data, 42)
        self.data = data
        self.loads, self.interp = [], False
        for index in range(min(phnum, 256)):
            at = phoff + index * phentsize
            if self.bits == 64:
                p_type, _flags, offset, vaddr, _paddr, filesz = struct.unpack_from(e + "IIQQQQ", data, at)
            else:
                p_type, offset, vaddr, _paddr, filesz = struct.unpack_from(e + "IIIII", data, at)
            if p_type == PT_LOAD:
                self.loads.append((vaddr, offset, filesz))
            elif p_type == PT_INTERP:
                self.interp = True

    def section_offset(self, wanted):
        """File offset of the section named ``wanted`` (bytes), or None."""
        if not self.shoff or not self.shnum or self.shstrndx >= self.shnum:
            return None
        e, data = self.endian, self.data
        fmt = e + ("IIQQQQ" if self.bits == 64 else "IIIIII")

        def header(index):
            name, _type, _flags, _addr, offset, size = struct.unpack_from(fmt, data, self.shoff + index * self.shentsize)
            return name, offset, size

        _n, strtab, _size = header(self.shstrndx)
        for index in range(min(self.shnum, 512)):
            name, offset, _size = header(index)
            if bytes(data[strtab + name : strtab + name + len(wanted) + 1]) == wanted + b"\x00":
                return offset
        return None

    def offset(self, address):
        for vaddr, offset, size in self.loads:
            if vaddr <= address < vaddr + size:
                return offset + address - vaddr
        raise ValueError("address %#x is in no loaded segment" % address)


def _read_go_string(data, elf, address, ptr_size):
    """A Go string header (pointer, length) at ``address`` -> bytes."""
    fmt = elf.endian + ("Q" if ptr_size == 8 else "I")
    at = elf.offset(address)
    (pointer,) = struct.unpack_from(fmt, data, at)
    (length,) = struct.unpack_from(fmt, data, at + ptr_size)
    if not 0 < length < 64:
        raise ValueError("implausible version length")
    start = elf.offset(pointer)
    return bytes(data[start : start + length])


def _elf_or_none(data):
    if data[:4] != ELF_MAGIC:
        return None
    try:
        return _Elf(data)
    except (ValueError, OverflowError, struct.error):  # OverflowError: an offset beyond any file
        return None


def _has_section(elf, name):
    try:
        return elf.section_offset(name) is not None
    except (ValueError, OverflowError, struct.error):
        return False


def _buildinfo_offset(data, elf):
    """Where the build info blob starts, or -1. The section table says where (no scan of a
    100 MB kubelet); a stripped or odd file is searched."""
    if elf is not None:
        try:
            at = elf.section_offset(b".go.buildinfo")
        except (ValueError, OverflowError, struct.error):
            at = None
        if at is not None and data[at : at + 14] == MAGIC:
            return at
    return data.find(MAGIC)


def _version_at(data, at, elf):
    """The Go version in the build info blob at ``at``, or None; never raises on junk."""
    try:
        ptr_size, flags = data[at + 14], data[at + 15]
        if flags & 0x2:  # Go 1.18+: inline, varint-prefixed strings after a 32-byte header
            length, pos = _varint(data, at + 32)
            version = bytes(data[pos : pos + length])
        else:  # Go 1.13-1.17: pointers to string headers
            if ptr_size not in (4, 8) or elf is None:
                return None
            (address,) = struct.unpack_from(elf.endian + ("Q" if ptr_size == 8 else "I"), data, at + 16)
            version = _read_go_string(data, elf, address, ptr_size)
    except (ValueError, IndexError, OverflowError, struct.error):
        return None
    return version.decode("ascii") if _VERSION.match(version) else None


def _scan(data):
    """(ELF headers or None, build info offset or -1, Go version or None): one look at the
    headers, at most one search of the file."""
    elf = _elf_or_none(data)
    at = _buildinfo_offset(data, elf)
    return elf, at, (_version_at(data, at, elf) if at >= 0 else None)


def version_from_bytes(data):
    """The Go version (``go1.19.8``) in an ELF image, or None; never raises on junk."""
    return _scan(data)[2]


def parse_go_version(text):
    if text == OLDER_THAN_BUILDINFO:
        return (1, 12)
    match = re.match(r"go(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def inspect(path):
    """{"path", "go_version", "files_first_without_nsswitch", "dynamic"} or None if not a Go ELF binary."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != ELF_MAGIC:
                return None
            size = os.fstat(handle.fileno()).st_size
            if size < 64:
                return None
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                elf, at, version = _scan(data)
                if version is None and at < 0 and elf is not None and (_has_section(elf, b".note.go.buildid") or _has_section(elf, b".gopclntab")):
                    version = OLDER_THAN_BUILDINFO  # a Go binary from before build info existed
                dynamic = elf.interp if elf is not None else None
            finally:
                data.close()
    except (IOError, OSError, ValueError):
        return None
    if version is None:
        return None
    parsed = parse_go_version(version)
    return {
        "go_version": version,
        "files_first_without_nsswitch": parsed >= FILES_FIRST_SINCE if parsed else None,
        "dynamic": dynamic,
    }
