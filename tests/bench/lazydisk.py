#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A disk image served over NBD the way EBS serves a volume restored from a snapshot.

    lazydisk.py --image rootfs.img --socket PATH [--latency-ms 20] [--block-kib 512]
                [--fetches 64] [--forget-when PATH] [--stats PATH]

EBS restores a volume from its snapshot lazily: a block of the volume is fetched from S3
the first time it is read, and from then on it is the volume's own (tests/bench/README.md,
"A lazily loaded disk"). So this server keeps the set of blocks "fetched": a read whose
blocks are all fetched is answered at once; a read of a block not fetched yet waits
`latency` first, once per block however many reads ask for it meanwhile, with up to
`fetches` blocks in flight at a time (the volume fetches in parallel; a single reader
sees the latency of each of its blocks in turn, a reader with many requests in flight
sees it once per batch).

The export is read-only: qemu writes to its qcow2 overlay, whose backing file this is
(writes to an EBS volume do not wait for S3). --forget-when: at the first read after PATH
exists, every block counts as not fetched again, once (the VM's preinit writes its report there just
before it empties the guest's page cache and hands over to systemd: what preinit itself
read is not the boot's). --stats: on SIGTERM, what was read and fetched, as JSON.

The protocol is NBD's fixed newstyle handshake (NBD_OPT_GO, NBD_OPT_EXPORT_NAME) with
simple replies; anything else is refused as unsupported, which qemu's client accepts.
"""
import argparse
import asyncio
import json
import os
import signal
import struct
import sys

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
OPT_REPLY_MAGIC = 0x3E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698
FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES = 1, 2
OPT_EXPORT_NAME, OPT_ABORT, OPT_INFO, OPT_GO = 1, 2, 6, 7
REP_ACK, REP_INFO = 1, 3
REP_ERR_UNSUP = (1 << 31) + 1
INFO_EXPORT = 0
# transmission flags: has flags, read-only, several connections see one export
TX_FLAGS = 1 | 2 | (1 << 8)
CMD_READ, CMD_DISC = 0, 2
EPERM, EINVAL = 1, 22


class Volume:
    def __init__(self, a):
        self.fd = os.open(a.image, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size
        self.latency = a.latency_ms / 1000.0
        self.block = a.block_kib * 1024
        self.gate = asyncio.Semaphore(a.fetches)
        self.fetched = set()
        self.pending = {}  # block -> Future of its fetch
        self.forget_when = a.forget_when
        self.stats = {"reads": 0, "read_bytes": 0, "fetched_blocks": 0, "waited_reads": 0,
                      "forgotten_blocks": None, "latency_ms": a.latency_ms,
                      "block_kib": a.block_kib, "fetches": a.fetches}

    async def fetch(self, b):
        async with self.gate:
            await asyncio.sleep(self.latency)
        self.fetched.add(b)
        self.stats["fetched_blocks"] += 1

    async def read(self, offset, length):
        # checked at each read, not polled: no read after PATH appears finds a block
        # fetched before it (a stat(2) is microseconds against a read's milliseconds)
        if self.forget_when and os.path.exists(self.forget_when):
            self.forget_when = None
            self.forget()
        self.stats["reads"] += 1
        self.stats["read_bytes"] += length
        waits = []
        for b in range(offset // self.block, (offset + max(length, 1) - 1) // self.block + 1):
            if b in self.fetched:
                continue
            fut = self.pending.get(b)
            if fut is None:
                fut = self.pending[b] = asyncio.ensure_future(self.fetch(b))
                fut.add_done_callback(lambda _f, b=b: self.pending.pop(b, None))
            waits.append(fut)
        if waits:
            self.stats["waited_reads"] += 1
            await asyncio.gather(*waits)
        return os.pread(self.fd, length, offset)

    def forget(self):
        self.stats["forgotten_blocks"] = len(self.fetched)
        self.stats["fetched_blocks"] = 0
        self.fetched.clear()


async def handshake(vol, reader, writer):
    """Options until the client picks the export; False when it goes away instead."""
    writer.write(struct.pack(">QQH", NBDMAGIC, IHAVEOPT, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
    (client_flags,) = struct.unpack(">I", await reader.readexactly(4))
    while True:
        magic, opt, length = struct.unpack(">QII", await reader.readexactly(16))
        data = await reader.readexactly(length) if length else b""
        if magic != IHAVEOPT:
            return False
        if opt == OPT_EXPORT_NAME:
            writer.write(struct.pack(">QH", vol.size, TX_FLAGS))
            if not client_flags & FLAG_NO_ZEROES:
                writer.write(bytes(124))
            return True
        if opt in (OPT_INFO, OPT_GO):
            info = struct.pack(">HQH", INFO_EXPORT, vol.size, TX_FLAGS)
            writer.write(struct.pack(">QIII", OPT_REPLY_MAGIC, opt, REP_INFO, len(info)) + info)
            writer.write(struct.pack(">QIII", OPT_REPLY_MAGIC, opt, REP_ACK, 0))
            if opt == OPT_GO:
                return True
            continue
        if opt == OPT_ABORT:
            writer.write(struct.pack(">QIII", OPT_REPLY_MAGIC, opt, REP_ACK, 0))
            return False
        writer.write(struct.pack(">QIII", OPT_REPLY_MAGIC, opt, REP_ERR_UNSUP, 0))


async def serve(vol, reader, writer):
    try:
        if not await handshake(vol, reader, writer):
            return
        tasks = set()
        while True:
            magic, _flags, cmd, handle, offset, length = struct.unpack(
                ">IHHQQI", await reader.readexactly(28))
            if magic != REQUEST_MAGIC or cmd == CMD_DISC:
                return
            if cmd != CMD_READ:
                # read-only: a write's payload still has to be consumed
                if cmd == 1:
                    await reader.readexactly(length)
                writer.write(struct.pack(">IIQ", SIMPLE_REPLY_MAGIC, EPERM, handle))
                continue
            if offset + length > vol.size:
                writer.write(struct.pack(">IIQ", SIMPLE_REPLY_MAGIC, EINVAL, handle))
                continue

            async def answer(handle=handle, offset=offset, length=length):
                data = await vol.read(offset, length)
                # one write per reply: replies to requests in flight never interleave
                writer.write(struct.pack(">IIQ", SIMPLE_REPLY_MAGIC, 0, handle) + data)

            t = asyncio.ensure_future(answer())
            tasks.add(t)
            t.add_done_callback(tasks.discard)
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        return
    finally:
        writer.close()


async def main(a):
    vol = Volume(a)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: done.done() or done.set_result(None))
    # Listening before the path appears: a client that waits for the path (lazydisk_test.py,
    # join.py) and connected between bind() and listen() was refused (2026-11-29, once under load)
    server = await asyncio.start_unix_server(lambda r, w: serve(vol, r, w), path=a.socket + ".tmp")
    os.replace(a.socket + ".tmp", a.socket)
    await done
    server.close()
    if a.stats:
        with open(a.stats + ".tmp", "w") as f:
            json.dump(vol.stats, f, indent=1, sort_keys=True)
        os.replace(a.stats + ".tmp", a.stats)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--block-kib", type=int, default=512)
    ap.add_argument("--fetches", type=int, default=64)
    ap.add_argument("--forget-when")
    ap.add_argument("--stats")
    args = ap.parse_args()
    if args.latency_ms < 0 or args.block_kib < 4 or args.fetches < 1:
        sys.exit("lazydisk: --latency-ms >= 0, --block-kib >= 4, --fetches >= 1")
    asyncio.run(main(args))
