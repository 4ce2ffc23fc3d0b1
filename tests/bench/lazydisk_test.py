#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/bench/lazydisk.py, the lazily loaded disk of join.py --lazy, as a client sees it.

Its own NBD client here (fixed newstyle, NBD_OPT_GO, simple replies), written from the
protocol, not from the server: every read's bytes against the image file; what the server
says it fetched (--stats) against the blocks the reads touched: a block is fetched at its
first read only, once however many reads in flight ask for it, and --forget-when makes
every block new again at the first read after its file appears. No time is asserted: the
latency is set to 1 ms and only counts are checked.
"""
import os
import pathlib
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
BLOCK = 64 * 1024
failures = 0
servers = []  # killed at exit: a failed check's traceback must not leave one holding meson's pipe


def check(ok, what):
    global failures
    print("%s - %s" % ("ok" if ok else "not ok", what))
    if not ok:
        failures += 1


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        magic, opt_magic, flags = struct.unpack(">QQH", self.recv(18))
        assert magic == 0x4E42444D41474943 and opt_magic == 0x49484156454F5054, "not an NBD server"
        self.s.sendall(struct.pack(">I", flags & 3))  # fixed newstyle, no zeroes, as offered
        name = b""
        self.s.sendall(struct.pack(">QII", 0x49484156454F5054, 7, 4 + len(name) + 2)
                       + struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
        self.size = None
        while True:
            _, _, rtype, length = struct.unpack(">QIII", self.recv(20))
            data = self.recv(length)
            if rtype == 3 and struct.unpack(">H", data[:2])[0] == 0:
                self.size = struct.unpack(">Q", data[2:10])[0]
            elif rtype == 1:
                break
            else:
                raise AssertionError("NBD_OPT_GO: reply type %#x" % rtype)
        self.handle = 0

    def recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("server closed the connection")
            buf += chunk
        return buf

    def send_read(self, offset, length):
        self.handle += 1
        self.s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, self.handle, offset, length))
        return self.handle

    def reply(self, lengths):
        magic, error, handle = struct.unpack(">IIQ", self.recv(16))
        assert magic == 0x67446698, "bad reply magic"
        return handle, error, (self.recv(lengths[handle]) if not error else b"")

    def read(self, offset, length):
        h = self.send_read(offset, length)
        got_h, error, data = self.reply({h: length})
        assert got_h == h
        return error, data

    def close(self):
        self.handle += 1
        self.s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 2, self.handle, 0, 0))
        self.s.close()


def serve(d, image, extra=()):
    sock, stats = d / "s.sock", d / "stats.json"
    for p in (sock, stats):
        if p.exists():
            p.unlink()
    proc = subprocess.Popen([sys.executable, str(HERE / "lazydisk.py"), "--image", str(image), "--socket", str(sock),
                             "--latency-ms", "1", "--block-kib", str(BLOCK // 1024), "--stats", str(stats), *extra])
    servers.append(proc)
    for _ in range(400):
        if sock.exists():
            break
        time.sleep(0.025)
    return proc, sock, stats


def stop(proc, stats):
    import json
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return json.loads(stats.read_text())


def main():
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        image = d / "image"
        content = random.Random(7).randbytes(16 * BLOCK + 1000)
        image.write_bytes(content)

        proc, sock, stats = serve(d, image)
        c = Client(str(sock))
        check(c.size == len(content), "the export's size is the image's (%s)" % c.size)
        reads = [(0, 512), (BLOCK - 100, 200), (3 * BLOCK, 2 * BLOCK), (5 * BLOCK + 7, 1), (16 * BLOCK, 1000)]
        touched = set()
        for off, n in reads:
            error, data = c.read(off, n)
            check(error == 0 and data == content[off:off + n], "read %d+%d: the image's bytes" % (off, n))
            touched.update(range(off // BLOCK, (off + n - 1) // BLOCK + 1))
        # the same blocks again: nothing fetched
        for off, n in reads:
            c.read(off, n)
        # one block asked for by several reads in flight at once: one fetch
        lengths = {c.send_read(9 * BLOCK + i * 100, 100): 100 for i in range(5)}
        replies = [c.reply(lengths) for _ in lengths]
        check(sorted(h for h, _, _ in replies) == sorted(lengths) and
              all(e == 0 and data == content[9 * BLOCK + (h - min(lengths)) * 100:][:100] for h, e, data in replies),
              "5 reads of one block in flight: all answered with its bytes")
        touched.add(9)
        error, _ = c.read(len(content) - 10, 20)
        check(error != 0, "a read past the end is refused")
        c.close()
        s = stop(proc, stats)
        check(s["fetched_blocks"] == len(touched),
              "blocks fetched: %d, the %d distinct blocks read (each once)" % (s["fetched_blocks"], len(touched)))
        check(s["reads"] == 2 * len(reads) + 5, "every read counted (%d)" % s["reads"])

        marker = d / "forget"
        proc, sock, stats = serve(d, image, ("--forget-when", str(marker)))
        c = Client(str(sock))
        c.read(0, 10)
        c.read(2 * BLOCK, 10)
        marker.touch()
        error, data = c.read(0, 10)
        check(error == 0 and data == content[:10], "after --forget-when's file: the same bytes")
        c.close()
        s = stop(proc, stats)
        check(s["forgotten_blocks"] == 2 and s["fetched_blocks"] == 1,
              "--forget-when: the 2 blocks fetched before it forgotten, block 0 fetched again (%s, %s)"
              % (s["forgotten_blocks"], s["fetched_blocks"]))
    print("lazydisk: %d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for p in servers:
            if p.poll() is None:
                p.kill()
