"""The numbers that make the CLEVR look: floor, ambient, environment and default light levels.

Colours are linear RGB in [0, 1] unless noted. Light intensities use pyrender's units: the
directional key light in lux (radiance = intensity * colour, independent of distance), point
lights in candela (radiance = intensity / (distance^2 + POINT_LIGHT_RADIUS^2)). Placement records
the light intensities in each scene; DEFAULT_INTENSITIES are the values to record for this look.
"""

from __future__ import annotations

DEFAULT_INTENSITIES = {"key": 0.6, "fill": 3.0, "back": 7.0}

FLOOR_RGB = (0.6, 0.6, 0.6)  # medium gray, matte
FLOOR_MIN_HALF_SIZE = 120.0  # world units; the floor also grows with the camera distance

AMBIENT_RGB = (0.2, 0.2, 0.2)  # the soft light of the room: Blender's floor needs this much
OBJECT_AMBIENT = 0.5  # share of it that objects get (their sides face the darker walls)

# Procedural environment seen in reflections (world z up): the floor below the horizon, a
# brighter sky above; every material reflects it by its Fresnel term (metal: its own colour).
ENV_GROUND = (0.14, 0.14, 0.14)
ENV_HORIZON = (0.3, 0.3, 0.3)
ENV_ZENITH = (0.04, 0.04, 0.04)
ENV_STRENGTH = 1.0
ENV_CONTACT = 0.3  # ground reflection brightness where the reflected ray hits the floor at once
ENV_CONTACT_RANGE = 0.8  # world units along the reflected ray to reach full ground brightness
ENV_BANDS = 0.9  # +-90% azimuthal variation of reflected ground: streaks on metal sides
ENV_FAR = 0.5  # ground reflection brightness near the horizon (the far floor is darker)

# Clear colour, sRGB-encoded like the final image; only visible if a camera looks above the
# horizon, so it matches the far floor.
BACKGROUND_SRGB = (0.47, 0.47, 0.47)

KEY_FALLOFF_SOFTEN = 0.5  # the key falls off as 1 / (d^2 + s^2) from its lamp (see shaders)
POINT_LIGHT_RADIUS = 3.0  # fill/back fall off as 1 / (d^2 + r^2): soft, like area lights
HIGHLIGHT_SIZE = 0.3  # apparent size of fill/back lamps in highlights (widens GGX by size/2d)
HIGHLIGHT_GAIN = 6.0  # lamps seen in metal are this much brighter than their light on it
KEY_HIGHLIGHT_SPREAD = 0.01  # the same widening for the key light (an angular size)

# Contact darkening of the floor next to objects (clevrlite.render.contact).
CONTACT_STRENGTH = 0.6  # share of the floor's light lost right against an object
CONTACT_REACH = 0.85  # each object occludes like a sphere of this many bounding radii
CONTACT_CUTOFF = 0.15  # occluded sky share below which nothing is darkened

REFLECTION_EDGE = 0.01  # world units of blur added to reflected objects' edges (antialiasing)

SHADOW_MAP_SIZE = 512  # texels per side; the shadow frustum is fitted to the objects
SHADOW_SOFTNESS = 1.0  # spread of the four filtered shadow reads, in texels
SHADOW_NORMAL_OFFSET = 3.5  # object surfaces look up their shadow this many texels outward
SHADOW_BIAS = 0.0005  # depth bias in the light's [0, 1] depth range
Z_NEAR = 0.1
