#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes 94-yaml-stream-alias-budget/user-data: base64(gzip()) of a YAML
stream of 270 NodeConfig documents, each standing for 8.2 MB of text through
two levels of aliases, just under the 8 MiB cap on its own (2.1 GB in all
while the cap was per document). Each is a valid NodeConfig
(metadata is ignored), so only the budget can refuse the stream."""

import base64
import gzip
import pathlib

DOC = (
    "---\n"
    "apiVersion: node.eks.aws/v1alpha1\n"
    "kind: NodeConfig\n"
    "metadata:\n"
    "  a: &a " + "x" * 2000 + "\n"
    "  b: &b [" + ", ".join(["*a"] * 100) + "]\n"
    "  c: [" + ", ".join(["*b"] * 39) + "]\n"
)

text = (DOC * 270).encode()
out = base64.b64encode(gzip.compress(text, 9, mtime=0))
pathlib.Path(__file__).with_name("94-yaml-stream-alias-budget").joinpath("user-data").write_bytes(out + b"\n")
