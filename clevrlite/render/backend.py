"""Choosing the OpenGL platform (EGL or OSMesa), importing pyrender for it, and making contexts.

PyOpenGL binds its platform when OpenGL is first imported, so ``PYOPENGL_PLATFORM`` must be set
before that and a process can use only one platform. Nothing here imports OpenGL or pyrender
until a context is asked for, so ``import clevrlite.render`` works on machines without GL.
Every failure to get a context becomes a one-line GLUnavailableError naming what to install.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from types import ModuleType
from typing import Any

from clevrlite.errors import GLUnavailableError, UsageError
from clevrlite.render import lean_import

BACKENDS = ("auto", "egl", "osmesa")
_PACKAGES = {"egl": "libegl1 libegl-mesa0 libgl1-mesa-dri", "osmesa": "libosmesa6"}
_SOFTWARE = ("llvmpipe", "softpipe", "swrast")


def _can_load(name: str) -> bool:
    """Whether the shared library ``lib{name}`` can be loaded (without importing OpenGL)."""
    path = ctypes.util.find_library(name)
    for candidate in filter(None, (path, f"lib{name}.so.1", f"lib{name}.so")):
        try:
            ctypes.CDLL(candidate)
            return True
        except OSError:
            continue
    return False


def resolve(backend: str) -> str:
    """The concrete platform for a backend name: 'egl' or 'osmesa'.

    'auto' keeps a platform this process already uses (or PYOPENGL_PLATFORM when it names egl
    or osmesa), else picks EGL, falling back to OSMesa only when libEGL itself is missing.
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown render backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    current = _platform_in_use() or os.environ.get("PYOPENGL_PLATFORM", "")
    if current in ("egl", "osmesa"):
        return current
    if not _can_load("EGL") and _can_load("OSMesa"):
        return "osmesa"
    return "egl"


def _platform_in_use() -> str | None:
    """The platform OpenGL was imported with in this process, or None if not imported yet."""
    if "OpenGL" not in sys.modules:
        return None
    return os.environ.get("PYOPENGL_PLATFORM", "") or "default"


def install_hint(platform: str) -> str:
    """The sentence telling the user which Debian packages give them this platform."""
    if platform == "osmesa":
        return (f"install the Debian package {_PACKAGES['osmesa']} (OSMesa), or use --backend "
                f"egl with {_PACKAGES['egl']}")
    return (f"install the Debian packages {_PACKAGES['egl']} (and {_PACKAGES['osmesa']} for "
            f"--backend osmesa)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def unavailable(platform: str, what: str, exc: BaseException | None = None) -> GLUnavailableError:
    """A one-line GLUnavailableError saying what failed, why, and what to install."""
    why = f": {_one_line(exc)}" if exc is not None else ""
    return GLUnavailableError(f"no OpenGL context ({platform.upper()}: {what}{why}); "
                              f"{install_hint(platform)}")


def load_pyrender(platform: str) -> ModuleType:
    """Import pyrender for ``platform`` ('egl' or 'osmesa'), setting PYOPENGL_PLATFORM first."""
    in_use = _platform_in_use()
    if in_use == "default":
        raise GLUnavailableError(
            "OpenGL (or pyrender) was imported before clevrlite chose its platform; set "
            f"PYOPENGL_PLATFORM={platform} before importing them, or let Renderer import them")
    if in_use is not None and in_use != platform:
        raise GLUnavailableError(
            f"OpenGL is already initialised for {in_use!r} in this process and cannot switch to "
            f"{platform!r}; use one backend per process")
    os.environ["PYOPENGL_PLATFORM"] = platform
    lib = "EGL" if platform == "egl" else "OSMesa"
    if not _can_load(lib):
        raise unavailable(platform, f"lib{lib} cannot be loaded")
    try:
        lean_import.defer()
        import pyrender
        if platform == "egl":
            import pyrender.platforms.egl  # noqa: F401  (binds PyOpenGL's EGL functions)
        else:
            _fix_osmesa_context_ids()
    except Exception as exc:  # PyOpenGL raises assorted errors when a library is missing
        raise unavailable(platform, "importing PyOpenGL/pyrender failed", exc) from None
    return pyrender


def _fix_osmesa_context_ids() -> None:
    """Make OpenGL.contextdata.getContext() return a stable int under OSMesa (DESIGN 7).

    On OSMesa it returns a new pointer object per call, so pyrender's shader cache (keyed on it)
    recompiles every shader every frame and leaks memory; the pointer's address is stable.
    """
    import OpenGL.contextdata as contextdata

    original = contextdata.getContext
    if getattr(original, "_clevrlite_int", False):
        return

    def get_context(context: Any = None) -> int:
        value = original(context)
        if isinstance(value, int):
            return value
        return int(ctypes.cast(value, ctypes.c_void_p).value or 0)

    get_context._clevrlite_int = True  # type: ignore[attr-defined]
    contextdata.getContext = get_context


def egl_device_index() -> int:
    """The EGL device to use: EGL_DEVICE_ID (an index into EGL's device list, not CUDA's)."""
    raw = os.environ.get("EGL_DEVICE_ID", "").strip() or "0"
    if not raw.isdigit():
        raise GLUnavailableError(f"EGL_DEVICE_ID={raw!r} is not a device index; unset it or "
                                 f"set 0, 1, ... (see `clevrlite doctor`)")
    return int(raw)


def create_offscreen(platform: str, width: int, height: int) -> Any:
    """One pyrender OffscreenRenderer on ``platform``; EGL honours EGL_DEVICE_ID."""
    pyrender = load_pyrender(platform)
    if platform == "egl":
        index, devices = egl_device_index(), egl_devices()
        if devices is not None and not devices:
            raise unavailable(platform, "no EGL device found")
        if devices is not None and index >= len(devices):
            raise GLUnavailableError(
                f"EGL_DEVICE_ID={index} names no EGL device ({len(devices)} found, indices 0 to "
                f"{len(devices) - 1}); unset it or pick a valid index")
    try:
        return pyrender.OffscreenRenderer(width, height)
    except Exception as exc:  # pyrender asserts, or PyOpenGL raises, on EGL/OSMesa failures
        raise unavailable(platform, "creating a context failed", exc) from None


_EGL_EXTENSIONS = 0x3055
_EGL_CUDA_DEVICE_NV = 0x323A  # EGL_NV_device_cuda: the CUDA device ordinal of an EGL device


def egl_device_facts() -> list[dict[str, Any]] | None:
    """Every EGL device in EGL_DEVICE_ID order: its index, DRM node, whether it is Mesa's
    software device, and its CUDA ordinal where the driver offers EGL_NV_device_cuda (None
    elsewhere). None when EGL cannot list devices."""
    try:
        load_pyrender("egl")
        from pyrender.platforms import egl

        devices = egl.query_devices()
    except Exception:
        return None
    query = egl._get_egl_func("eglQueryDeviceAttribEXT", egl.egl.EGLBoolean, egl._EGLDeviceEXT,
                              egl.egl.EGLint, ctypes.POINTER(ctypes.c_ssize_t))
    facts = []
    for index, device in enumerate(devices):
        handle = device._display
        extensions = egl._eglQueryDeviceStringEXT(handle, _EGL_EXTENSIONS) or b""
        cuda = None
        if b"EGL_NV_device_cuda" in extensions and query is not None:
            value = ctypes.c_ssize_t()
            if query(handle, _EGL_CUDA_DEVICE_NV, ctypes.pointer(value)):
                cuda = int(value.value)
        name = device.name
        facts.append({"index": index, "name": name or "no DRM node", "cuda": cuda,
                      "software": name is None and cuda is None})
    return facts


def egl_devices() -> list[str] | None:
    """Names of the EGL devices in EGL_DEVICE_ID order (their DRM device files; devices without
    one, like Mesa's software device, say so), or None when EGL cannot list them."""
    try:
        from pyrender.platforms import egl

        return [dev.name or "no DRM node (software)" for dev in egl.query_devices()]
    except Exception:
        return None


def describe_context(platform: str) -> dict[str, Any]:
    """Platform, vendor, renderer, version, EGL devices and whether it is a software rasterizer,
    for the context current on this thread."""
    from OpenGL import GL

    def text(name: int) -> str:
        value = GL.glGetString(name)
        return value.decode("utf-8", "replace") if value else ""

    renderer = text(GL.GL_RENDERER)
    return {
        "platform": platform,
        "vendor": text(GL.GL_VENDOR),
        "renderer": renderer,
        "version": text(GL.GL_VERSION),
        "egl_devices": egl_devices() if platform == "egl" else None,
        "egl_device_id": egl_device_index() if platform == "egl" else None,
        "software": any(s in renderer.lower() for s in _SOFTWARE),
    }
