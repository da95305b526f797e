"""Which EGL device each worker renders on (DESIGN 10).

Users, Ray and CUDA name GPUs by CUDA index (CUDA_VISIBLE_DEVICES, nvidia-smi); EGL lists
devices in its own order, and ``EGL_DEVICE_ID`` picks one of those. NVIDIA's driver says which
CUDA device an EGL device is (EGL_NV_device_cuda), and that is what the mapping uses; where a
driver does not say, the EGL devices that are not Mesa's software device are taken in EGL's
order. The mapping is plain logic over device facts (clevrlite.pipeline.egl_devices), so it
is tested with stand-in device lists on machines without a GPU.
"""

from __future__ import annotations

from typing import Any, Sequence

from clevrlite.errors import UsageError

Facts = Sequence[dict[str, Any]]


def gpu_devices(facts: Facts) -> list[dict[str, Any]]:
    """The EGL devices that are GPUs, by CUDA index where known, else in EGL's order."""
    gpus = [f for f in facts if not f.get("software")]
    return sorted(gpus, key=lambda f: (f["cuda"] is None, f["cuda"] if f["cuda"] is not None
                                       else f["index"]))


def plan(spec: str, facts: Facts) -> list[int]:
    """The EGL device indices for ``--gpus`` ``spec``: "all", or CUDA indices "0,2"."""
    gpus = gpu_devices(facts)
    if not gpus:
        raise UsageError("--gpus: this machine has no GPU EGL device (only the software "
                         "rasterizer); drop --gpus, or check `clevrlite doctor`")
    if spec.strip() == "all":
        return [g["index"] for g in gpus]
    try:
        wanted = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--gpus {spec!r}: give 'all' or CUDA indices such as 0,2") from None
    if not wanted or len(set(wanted)) != len(wanted):
        raise UsageError(f"--gpus {spec!r}: give 'all' or distinct CUDA indices such as 0,2")
    known = {(g["cuda"] if g["cuda"] is not None else position): g["index"]
             for position, g in enumerate(gpus)}
    missing = [w for w in wanted if w not in known]
    if missing:
        raise UsageError(f"--gpus: no GPU with CUDA index {missing[0]} (found "
                         f"{', '.join(map(str, sorted(known)))})")
    return [known[w] for w in wanted]


def worker_environments(devices: Sequence[int]) -> list[dict[str, str]]:
    """What each worker's environment gets, dealt out in turn: its EGL_DEVICE_ID."""
    return [{"EGL_DEVICE_ID": str(d)} for d in devices]


def egl_device_for_cuda(cuda: int, facts: Facts | None = None) -> int | None:
    """The EGL device of CUDA device ``cuda`` (None when it cannot be told)."""
    if facts is None:
        from clevrlite.pipeline import egl_devices

        facts = egl_devices() or []
    gpus = gpu_devices(facts)
    for position, g in enumerate(gpus):
        if (g["cuda"] if g["cuda"] is not None else position) == cuda:
            return g["index"]
    return None


def describe(facts: Facts | None) -> str:
    """One line for `clevrlite doctor`: which devices ``--gpus all`` would use."""
    if facts is None:
        return "EGL cannot list its devices; workers use the default device"
    gpus = gpu_devices(facts)
    if not gpus:
        return "no GPU EGL device: workers render on the software rasterizer"
    parts = [f"EGL {g['index']}" + (f" = CUDA {g['cuda']}" if g["cuda"] is not None else "")
             + f" ({g['name']})" for g in gpus]
    return "--gpus all would spread workers over " + ", ".join(parts)
