#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What qemu boots in the VM tier, made from an image tree at image build (build-image.sh):

  make-boot.py TREE KVER INIT OUTDIR MODULE...

OUTDIR/vmlinux     the kernel's uncompressed ELF, taken out of TREE/boot/vmlinuz-KVER. qemu
                   enters it through its PVH note (Debian's kernels have CONFIG_PVH), which
                   skips the bzImage's decompressor: XZ under TCG cost ~6 s of emulated CPU
                   a bookworm boot (a kernel-only boot: 9.1 s of qemu CPU, 3.2 s as PVH).
OUTDIR/initrd.img  an uncompressed newc cpio: INIT (tests/vm/boot/init.c, static) as /init,
                   MODULE... and what they depend on (TREE's modules.dep), decompressed, in
                   load order, listed in /modules.list. A MODULE built into the kernel (or
                   absent, if its name ends in '?') is skipped.

Exit status 1 on a kernel without a PVH note or a module that is not there.
"""
import lzma
import os
import struct
import subprocess
import sys
import zlib


def die(msg):
    sys.exit(f"make-boot: {msg}")


XZ, ZSTD, GZIP = b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"\x1f\x8b"


def decompress(data):
    """DATA unpacked by its magic (xz, zstd or gzip: the kernel's payload, a module file);
    DATA itself when it is none of them. xz and gzip stop at their stream's end."""
    if data.startswith(XZ):
        return lzma.LZMADecompressor().decompress(data)
    if data.startswith(ZSTD):
        return subprocess.run(["zstd", "-dcq"], input=data, capture_output=True, check=True).stdout
    if data.startswith(GZIP):
        return zlib.decompressobj(wbits=31).decompress(data)
    return data


def kernel_elf(bzimage):
    # The x86 boot protocol's setup header: the protected-mode code starts after
    # (setup_sects + 1) sectors; payload_offset/payload_length locate the compressed kernel in it.
    setup_sects = bzimage[0x1F1] or 4
    if bzimage[0x202:0x206] != b"HdrS":
        die("vmlinuz: no x86 boot header")
    offset, length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = bzimage[start:start + length]
    if payload.startswith(ZSTD):
        payload = payload[:-4]  # the build appends the uncompressed size, which zstd reads as garbage
    elf = decompress(payload)
    if elf is payload:
        die(f"vmlinuz: payload compressed with something unknown ({payload[:4].hex()})")
    if not elf.startswith(b"\x7fELF"):
        die("vmlinuz: its payload is no ELF")
    if not has_pvh_note(elf):
        die("vmlinux: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): qemu cannot enter it directly")
    return elf


def has_pvh_note(elf):
    # ELF64 program headers: the PT_NOTE segments hold the Xen notes; type 18 is
    # XEN_ELFNOTE_PHYS32_ENTRY, the 32-bit entry point PVH boots through.
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == 18:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def module_files(tree, kver, wanted):
    moddir = os.path.join(tree, "lib/modules", kver)
    deps = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
    with open(os.path.join(moddir, "modules.builtin")) as f:
        builtin = {line.strip() for line in f}

    def key(name):  # module names treat '-' and '_' alike
        return name.replace("-", "_")

    by_name = {}
    for path in list(deps) + sorted(builtin):
        base = os.path.basename(path).split(".ko")[0]
        by_name.setdefault(key(base), path)
    order, seen = [], set()

    def visit(path):
        if path in seen:
            return
        seen.add(path)
        for dep in deps[path]:
            visit(dep)
        order.append(path)

    for name in wanted:
        optional = name.endswith("?")
        name = name.rstrip("?")
        path = by_name.get(key(name))
        if path is None:
            if optional:
                continue
            die(f"module {name}: not in {moddir}")
        if path in builtin:
            continue
        visit(path)
    return moddir, order


def read_module(path):
    with open(path, "rb") as f:
        return decompress(f.read())


def cpio(entries):
    # newc: a 110-byte ASCII header per entry, name and data each padded to 4 bytes
    out = bytearray()
    for ino, (name, mode, data, rdev) in enumerate(entries + [("TRAILER!!!", 0, b"", (0, 0))], 1):
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
        out += b"070701" + b"".join(b"%08X" % v for v in fields)
        out += name.encode() + b"\0"
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def main():
    if len(sys.argv) < 5:
        die("usage: make-boot.py TREE KVER INIT OUTDIR MODULE...")
    tree, kver, init, outdir, wanted = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    with open(os.path.join(tree, "boot", f"vmlinuz-{kver}"), "rb") as f:
        elf = kernel_elf(f.read())
    moddir, order = module_files(tree, kver, wanted)
    with open(init, "rb") as f:
        entries = [("dev", 0o40755, b"", (0, 0)), ("dev/console", 0o20600, b"", (5, 1)),
                   ("proc", 0o40755, b"", (0, 0)), ("root", 0o40700, b"", (0, 0)),
                   ("modules", 0o40755, b"", (0, 0)), ("init", 0o100755, f.read(), (0, 0))]
    names = []
    for i, path in enumerate(order):
        name = "modules/%02d-%s.ko" % (i, os.path.basename(path).split(".ko")[0])
        entries.append((name, 0o100644, read_module(os.path.join(moddir, path)), (0, 0)))
        names.append("/" + name)
    entries.append(("modules.list", 0o100644, ("\n".join(names) + "\n").encode(), (0, 0)))
    with open(os.path.join(outdir, "vmlinux"), "wb") as f:
        f.write(elf)
    with open(os.path.join(outdir, "initrd.img"), "wb") as f:
        f.write(cpio(entries))
    print("make-boot: vmlinux (%d MB, PVH), initrd.img: %s" %
          (len(elf) >> 20, " ".join(os.path.basename(p).split(".ko")[0] for p in order)), file=sys.stderr)


main()
