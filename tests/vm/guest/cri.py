# SPDX-License-Identifier: Apache-2.0
"""The stub kubelet's CRI driver: drives containerd over its CRI socket as kubelet does when it
starts a pod (tests/vm/guest/kubelet; baked into the VM image as /usr/lib/eksvm/cri.py).

Version, Status, ImageStatus of the sandbox image, then per runtime handler (the default "",
then any named one): RunPodSandbox (host network: the VM has no CNI; cgroup parent in kubelet's
cgroup driver's form), CreateContainer + StartContainer of the cached pause image,
ContainerStatus (RUNNING), StopContainer, ContainerStatus (EXITED, code 0: our pause exits 0 on
SIGTERM), RemoveContainer, StopPodSandbox, RemovePodSandbox. Every call, its request, its
answer (or gRPC error) and its time is recorded.

gRPC with python3-grpcio's raw-bytes calls; the messages are encoded and decoded here from
SCHEMA, which holds exactly the fields used, with the numbers and types of the CRI API
(k8s.io/cri-api pkg/apis/runtime/v1/api.proto). tests/plumbing/cri_fields.py checks SCHEMA,
ENUMS and METHODS against that file from Debian's golang-github-kubernetes-cri-api-dev.
"""
import glob
import os
import shutil
import signal
import time
import uuid

# message -> field -> (number, type as api.proto writes it). A type is a scalar, an enum of
# ENUMS, a message of SCHEMA, "repeated T" or "map<string, string>". Fields not listed are
# skipped when decoding.
SCHEMA = {
    "VersionRequest": {"version": (1, "string")},
    "VersionResponse": {"version": (1, "string"), "runtime_name": (2, "string"),
                        "runtime_version": (3, "string"), "runtime_api_version": (4, "string")},
    "StatusRequest": {"verbose": (1, "bool")},
    "StatusResponse": {"status": (1, "RuntimeStatus"), "info": (2, "map<string, string>"),
                       "runtime_handlers": (3, "repeated RuntimeHandler")},
    "RuntimeStatus": {"conditions": (1, "repeated RuntimeCondition")},
    "RuntimeCondition": {"type": (1, "string"), "status": (2, "bool"), "reason": (3, "string"),
                         "message": (4, "string")},
    "RuntimeHandler": {"name": (1, "string")},
    "ImageSpec": {"image": (1, "string")},
    "ImageStatusRequest": {"image": (1, "ImageSpec"), "verbose": (2, "bool")},
    "ImageStatusResponse": {"image": (1, "Image")},
    "Image": {"id": (1, "string"), "repo_tags": (2, "repeated string"),
              "repo_digests": (3, "repeated string"), "size": (4, "uint64"), "pinned": (8, "bool")},
    "ListImagesRequest": {},
    "ListImagesResponse": {"images": (1, "repeated Image")},
    "ListContainersRequest": {},
    "ListContainersResponse": {"containers": (1, "repeated Container")},
    "Container": {"id": (1, "string"), "pod_sandbox_id": (2, "string"), "metadata": (3, "ContainerMetadata"),
                  "image": (4, "ImageSpec"), "image_ref": (5, "string"), "state": (6, "ContainerState"),
                  "created_at": (7, "int64")},
    "PodSandboxMetadata": {"name": (1, "string"), "uid": (2, "string"), "namespace": (3, "string"),
                           "attempt": (4, "uint32")},
    "NamespaceOption": {"network": (1, "NamespaceMode"), "pid": (2, "NamespaceMode"),
                        "ipc": (3, "NamespaceMode")},
    "LinuxSandboxSecurityContext": {"namespace_options": (1, "NamespaceOption")},
    "LinuxPodSandboxConfig": {"cgroup_parent": (1, "string"),
                              "security_context": (2, "LinuxSandboxSecurityContext")},
    "PodSandboxConfig": {"metadata": (1, "PodSandboxMetadata"), "hostname": (2, "string"),
                         "log_directory": (3, "string"), "labels": (6, "map<string, string>"),
                         "linux": (8, "LinuxPodSandboxConfig")},
    "RunPodSandboxRequest": {"config": (1, "PodSandboxConfig"), "runtime_handler": (2, "string")},
    "RunPodSandboxResponse": {"pod_sandbox_id": (1, "string")},
    "ContainerMetadata": {"name": (1, "string"), "attempt": (2, "uint32")},
    "LinuxContainerSecurityContext": {"namespace_options": (3, "NamespaceOption")},
    "LinuxContainerConfig": {"security_context": (2, "LinuxContainerSecurityContext")},
    "ContainerConfig": {"metadata": (1, "ContainerMetadata"), "image": (2, "ImageSpec"),
                        "labels": (9, "map<string, string>"), "log_path": (11, "string"),
                        "linux": (15, "LinuxContainerConfig")},
    "CreateContainerRequest": {"pod_sandbox_id": (1, "string"), "config": (2, "ContainerConfig"),
                               "sandbox_config": (3, "PodSandboxConfig")},
    "CreateContainerResponse": {"container_id": (1, "string")},
    "StartContainerRequest": {"container_id": (1, "string")},
    "StartContainerResponse": {},
    "ContainerStatusRequest": {"container_id": (1, "string"), "verbose": (2, "bool")},
    "ContainerStatusResponse": {"status": (1, "ContainerStatus")},
    "ContainerStatus": {"id": (1, "string"), "metadata": (2, "ContainerMetadata"),
                        "state": (3, "ContainerState"), "exit_code": (7, "int32"),
                        "image_ref": (9, "string"), "reason": (10, "string")},
    "StopContainerRequest": {"container_id": (1, "string"), "timeout": (2, "int64")},
    "StopContainerResponse": {},
    "RemoveContainerRequest": {"container_id": (1, "string")},
    "RemoveContainerResponse": {},
    "StopPodSandboxRequest": {"pod_sandbox_id": (1, "string")},
    "StopPodSandboxResponse": {},
    "RemovePodSandboxRequest": {"pod_sandbox_id": (1, "string")},
    "RemovePodSandboxResponse": {},
}

ENUMS = {
    "NamespaceMode": {"POD": 0, "CONTAINER": 1, "NODE": 2, "TARGET": 3},
    "ContainerState": {"CONTAINER_CREATED": 0, "CONTAINER_RUNNING": 1, "CONTAINER_EXITED": 2,
                       "CONTAINER_UNKNOWN": 3},
}

# method -> (service, request, response), as api.proto's rpc lines name them
METHODS = {
    "Version": ("RuntimeService", "VersionRequest", "VersionResponse"),
    "Status": ("RuntimeService", "StatusRequest", "StatusResponse"),
    "ImageStatus": ("ImageService", "ImageStatusRequest", "ImageStatusResponse"),
    "ListImages": ("ImageService", "ListImagesRequest", "ListImagesResponse"),
    "ListContainers": ("RuntimeService", "ListContainersRequest", "ListContainersResponse"),
    "RunPodSandbox": ("RuntimeService", "RunPodSandboxRequest", "RunPodSandboxResponse"),
    "CreateContainer": ("RuntimeService", "CreateContainerRequest", "CreateContainerResponse"),
    "StartContainer": ("RuntimeService", "StartContainerRequest", "StartContainerResponse"),
    "ContainerStatus": ("RuntimeService", "ContainerStatusRequest", "ContainerStatusResponse"),
    "StopContainer": ("RuntimeService", "StopContainerRequest", "StopContainerResponse"),
    "RemoveContainer": ("RuntimeService", "RemoveContainerRequest", "RemoveContainerResponse"),
    "StopPodSandbox": ("RuntimeService", "StopPodSandboxRequest", "StopPodSandboxResponse"),
    "RemovePodSandbox": ("RuntimeService", "RemovePodSandboxRequest", "RemovePodSandboxResponse"),
}
PACKAGE = "runtime.v1"

_VARINT = {"bool", "uint32", "uint64", "int32", "int64"}


# ---- protobuf wire format (only what SCHEMA needs) -----------------------------------------

def _varint(n):
    if n < 0:
        n += 1 << 64  # int32/int64 negatives: ten bytes of two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(number, wire):
    return _varint(number << 3 | wire)


def _scalar(number, typ, value):
    if typ == "string":
        data = value.encode()
        return _key(number, 2) + _varint(len(data)) + data
    if typ in _VARINT:
        return _key(number, 0) + _varint(int(value))
    if typ in ENUMS:
        return _key(number, 0) + _varint(ENUMS[typ][value] if isinstance(value, str) else value)
    data = encode(typ, value)  # a message
    return _key(number, 2) + _varint(len(data)) + data


def encode(message, doc):
    """doc (a dict by field name) -> bytes; fields in number order, defaults left out."""
    fields = SCHEMA[message]
    out = bytearray()
    for name, value in sorted(doc.items(), key=lambda kv: fields[kv[0]][0]):
        number, typ = fields[name]
        if typ.startswith("map<"):
            for k, v in sorted(value.items()):
                entry = _scalar(1, "string", k) + _scalar(2, "string", v)
                out += _key(number, 2) + _varint(len(entry)) + entry
        elif typ.startswith("repeated "):
            for v in value:
                out += _scalar(number, typ[len("repeated "):], v)
        elif value not in ("", 0, False) or typ in SCHEMA:
            out += _scalar(number, typ, value)
    return bytes(out)


def _read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _fields(data):
    """bytes -> [(number, wire type, value)]: int for VARINT, bytes for LEN."""
    out, i = [], 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
        elif wire == 2:
            size, i = _read_varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire} (field {number})")
        out.append((number, wire, value))
    return out


def _decode_scalar(typ, wire, value):
    if typ == "string":
        return bytes(value).decode(errors="replace")
    if typ == "bool":
        return bool(value)
    if typ in ("int32", "int64"):
        return value - (1 << 64) if value >= 1 << 63 else value
    if typ in _VARINT:
        return value
    if typ in ENUMS:
        names = {v: k for k, v in ENUMS[typ].items()}
        return names.get(value, value)
    return decode(typ, value)


def decode(message, data):
    """bytes -> dict by field name (SCHEMA's fields only; absent scalars get their default)."""
    by_number = {number: (name, typ) for name, (number, typ) in SCHEMA[message].items()}
    doc = {}
    for name, (_, typ) in SCHEMA[message].items():
        if typ.startswith("map<"):
            doc[name] = {}
        elif typ.startswith("repeated "):
            doc[name] = []
        elif typ == "string":
            doc[name] = ""
        elif typ == "bool":
            doc[name] = False
        elif typ in _VARINT:
            doc[name] = 0
        elif typ in ENUMS:
            doc[name] = _decode_scalar(typ, 0, 0)
        else:
            doc[name] = None
    for number, wire, value in _fields(data):
        if number not in by_number:
            continue
        name, typ = by_number[number]
        if typ.startswith("map<"):
            entry = dict((n, bytes(v).decode(errors="replace")) for n, _, v in _fields(value))
            doc[name][entry.get(1, "")] = entry.get(2, "")
        elif typ.startswith("repeated "):
            doc[name].append(_decode_scalar(typ[len("repeated "):], wire, value))
        else:
            doc[name] = _decode_scalar(typ, wire, value)
    return doc


# ---- the driver ------------------------------------------------------------------------------

class CallFailed(Exception):
    pass


class Client:
    """Unary CRI calls on a grpc channel, each recorded in self.calls (and passed to log)."""

    def __init__(self, endpoint, log, timeout=60.0):
        import grpc  # python3-grpcio; imported here so that SCHEMA's test needs no grpcio
        self.grpc = grpc
        target = endpoint if "://" in endpoint else "unix://" + endpoint
        self.channel = grpc.insecure_channel(target)
        self.log, self.timeout, self.calls = log, timeout, []

    def call(self, method, request, timeout=None):
        service, req_type, resp_type = METHODS[method]
        stub = self.channel.unary_unary(f"/{PACKAGE}.{service}/{method}",
                                        request_serializer=None, response_deserializer=None)
        entry = {"method": method, "request": request}
        t0 = time.monotonic()
        try:
            raw = stub(encode(req_type, request), timeout=timeout or self.timeout)
            entry["response"] = decode(resp_type, raw)
            entry["ok"] = True
        except self.grpc.RpcError as e:
            entry["error"] = f"{e.code().name}: {e.details()}"
            entry["ok"] = False
        entry["seconds"] = round(time.monotonic() - t0, 3)
        self.calls.append(entry)
        self.log(f"cri: {method}: " + (f"ok in {entry['seconds']} s" if entry["ok"]
                                        else f"failed in {entry['seconds']} s: {entry['error']}"))
        if not entry["ok"]:
            raise CallFailed(f"{method}: {entry['error']}")
        return entry["response"]


def cgroup_parent(driver, pod_uid):
    """A BestEffort pod's cgroup parent as kubelet names it for its cgroup driver."""
    if driver == "systemd":
        # kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice: systemd
        # creates the parent slices from the dashes in the name
        return f"kubepods-besteffort-pod{pod_uid.replace('-', '_')}.slice"
    return f"/kubepods/besteffort/pod{pod_uid}"


def wait_for_sigterm_handler(container_id, limit=10.0):
    """Seconds until the container's first process catches SIGTERM, or None when it could not be
    seen within `limit`. The pause is PID 1 of its own PID namespace, where a signal with no
    handler is ignored: stopped before it has set its handlers (milliseconds after its start,
    which a container boot at the host's speed reaches), it would be killed after the stop's
    timeout with 137 instead of exiting 0. kubelet stops no container that early; this waits
    as long as that takes, so the stop's check is about the runtime, not a race.
    The process must be the pause itself, as its status names it: until runc's init has exec()ed
    the entrypoint, which can be after StartContainer returned, the cgroup's first process is
    that init, a Go program whose runtime catches SIGTERM, and exec() resets the handlers (run
    Y, 2026-11-27, a loaded machine: "caught" after 1 ms, then killed with 137)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        for procs in glob.glob(f"/sys/fs/cgroup/**/*{container_id}*/cgroup.procs", recursive=True):
            try:
                with open(procs) as f:
                    pids = f.read().split()
                with open(f"/proc/{pids[0]}/status") as f:
                    fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
                name, caught = fields["Name"], int(fields["SigCgt"], 16)
            except (OSError, IndexError, KeyError, ValueError):
                continue
            if name == "pause" and caught & (1 << (signal.SIGTERM - 1)):
                return round(time.monotonic() - start, 3)
        time.sleep(0.02)
    return None


def pod_cycle(client, handler, image, driver, log, while_running=None):
    """One pod: sandbox with host network, the pause image as its container, then all removed.
    while_running(container_id), if given, runs while the container runs; what it returns is
    recorded as "while_running" (a check's evidence of how the container runs)."""
    uid = str(uuid.uuid4())
    name = "eksvm-cri-" + (handler or "default")
    host_ns = {"network": "NODE", "pid": "CONTAINER", "ipc": "POD"}
    sandbox = {
        "metadata": {"name": name, "uid": uid, "namespace": "kube-system", "attempt": 0},
        "log_directory": f"/var/log/pods/kube-system_{name}_{uid}",
        "labels": {"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "kube-system",
                   "io.kubernetes.pod.uid": uid},
        "linux": {"cgroup_parent": cgroup_parent(driver, uid),
                  "security_context": {"namespace_options": host_ns}},
    }
    result = {"handler": handler, "cgroup_parent": sandbox["linux"]["cgroup_parent"], "ok": False}
    sandbox_id = container_id = None
    # kubelet makes the pod's log directory before RunPodSandbox; containerd opens the
    # container's log file in it
    os.makedirs(sandbox["log_directory"], exist_ok=True)
    try:
        sandbox_id = client.call("RunPodSandbox", {"config": sandbox, "runtime_handler": handler},
                                 timeout=120)["pod_sandbox_id"]
        result["pod_sandbox_id"] = sandbox_id
        container = {
            "metadata": {"name": "pause", "attempt": 0},
            "image": {"image": image},
            "labels": {"io.kubernetes.container.name": "pause"},
            "log_path": "pause/0.log",
            "linux": {"security_context": {"namespace_options": host_ns}},
        }
        container_id = client.call("CreateContainer", {
            "pod_sandbox_id": sandbox_id, "config": container, "sandbox_config": sandbox})["container_id"]
        result["container_id"] = container_id
        client.call("StartContainer", {"container_id": container_id})
        status = client.call("ContainerStatus", {"container_id": container_id})["status"] or {}
        result["state_started"] = status.get("state")
        if status.get("state") != "CONTAINER_RUNNING":
            raise CallFailed(f"ContainerStatus: state {status.get('state')}, not CONTAINER_RUNNING")
        if while_running:
            result["while_running"] = while_running(container_id)
        result["sigterm_caught_after_s"] = wait_for_sigterm_handler(container_id)
        client.call("StopContainer", {"container_id": container_id, "timeout": 10})
        status = client.call("ContainerStatus", {"container_id": container_id})["status"] or {}
        result["state_stopped"], result["exit_code"] = status.get("state"), status.get("exit_code")
        if status.get("state") != "CONTAINER_EXITED" or status.get("exit_code") != 0:
            raise CallFailed(f"ContainerStatus after StopContainer: {status.get('state')}, "
                             f"exit code {status.get('exit_code')} (the pause exits 0 on SIGTERM)")
        client.call("RemoveContainer", {"container_id": container_id})
        container_id = None
        client.call("StopPodSandbox", {"pod_sandbox_id": sandbox_id})
        client.call("RemovePodSandbox", {"pod_sandbox_id": sandbox_id})
        sandbox_id = None
        result["ok"] = True
    except CallFailed as e:
        result["error"] = str(e)
        log(f"cri: handler {handler or '(default)'}: {e}")
        # leave nothing behind (best effort, recorded like every call)
        for method, req in (("RemoveContainer", {"container_id": container_id}),
                            ("StopPodSandbox", {"pod_sandbox_id": sandbox_id}),
                            ("RemovePodSandbox", {"pod_sandbox_id": sandbox_id})):
            if all(req.values()):
                try:
                    client.call(method, req)
                except CallFailed:
                    pass
    shutil.rmtree(sandbox["log_directory"], ignore_errors=True)
    return result


def run(endpoint, sandbox_image, driver, handlers, log, connect_seconds=60, image_endpoint=None):
    """The whole sequence; returns the record (ok: every step and every handler's pod passed).
    ImageService calls go to image_endpoint when it is another socket (kubelet's
    imageServiceEndpoint: the SOCI snapshotter's, which passes them on to containerd)."""
    record = {"endpoint": endpoint, "image_endpoint": image_endpoint or endpoint, "sandbox_image": sandbox_image,
              "cgroup_driver": driver, "handlers": handlers, "ok": False}
    t0 = time.monotonic()
    try:
        client = Client(endpoint, log)
        images = Client(image_endpoint, log) if image_endpoint and image_endpoint != endpoint else client
    except ImportError as e:
        record["error"] = f"no grpc: {e}"
        return record
    images.calls = client.calls  # one record, in call order
    record["calls"] = client.calls
    try:
        # kubelet waits for the runtime's socket to answer before anything else
        deadline = time.monotonic() + connect_seconds
        while True:
            try:
                record["version"] = client.call("Version", {"version": "v1"}, timeout=10)
                break
            except CallFailed:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        status = client.call("Status", {"verbose": False})
        record["conditions"] = {c["type"]: c["status"] for c in (status["status"] or {}).get("conditions", [])}
        record["runtime_handlers"] = [h["name"] for h in status["runtime_handlers"]]
        if not record["conditions"].get("RuntimeReady"):
            raise CallFailed(f"Status: RuntimeReady is not true: {record['conditions']}")
        image = images.call("ImageStatus", {"image": {"image": sandbox_image}})["image"]
        if not image or not image["id"]:
            raise CallFailed(f"ImageStatus: containerd has no {sandbox_image}")
        record["sandbox_image_status"] = image
        record["pods"] = [pod_cycle(client, h, sandbox_image, driver, log) for h in handlers]
        record["ok"] = all(p["ok"] for p in record["pods"])
    except CallFailed as e:
        record["error"] = str(e)
    finally:
        client.channel.close()
        images.channel.close()
    record["seconds"] = round(time.monotonic() - t0, 3)
    return record
