"""clevrlite's colour-pass shaders, swapped in for pyrender's mesh.vert/mesh.frag at runtime.

Why replacements rather than pyrender's PBR shader: on llvmpipe the fragment shader dominates
the frame (the floor covers most pixels), and pyrender's generic one (loops over every light
type, 36 shadow-map reads per pixel) costs several times our budget. These use the same
attribute and uniform names, so pyrender binds them unchanged, and add what pyrender lacks for
the CLEVR look:

- environment: a procedural sky/ground reflection weighted by Fresnel and roughness plus a
  hemispherical ambient, so metal shows its colour, a horizon, streaks and dark contact
  reflections (pyrender has no environment light, and plain metal renders almost black);
- highlights: GGX widened a little per light, like CLEVR's small area lamps;
- the key light's shadow is read with hardware-filtered compares (a sampler2DShadow, see
  passes.ShadowTexture): one read with a normal offset on objects (no acne), four spread reads
  on the floor (soft edges), and no shadow outside the fitted shadow frustum;
- point lights fall off as 1 / (d^2 + r^2), like lamps of radius r, so fill and back lights
  leave no hot spots on the floor;
- primitives without normals (only the floor) compile to a cheap matte, upward-facing variant.

The shadow-map and SEG passes keep pyrender's own shaders.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import pyrender.shader_program as shader_program
from OpenGL import GL
from pyrender.shader_program import ShaderProgramCache

from clevrlite.render import look

_VERTEX = """
layout(location = 0) in vec3 position;
#ifdef NORMAL_LOC
layout(location = NORMAL_LOC) in vec3 normal;
#endif
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 M;
uniform mat4 V;
uniform mat4 P;

out vec3 frag_position;
#ifdef NORMAL_LOC
out vec3 frag_normal;
#endif

void main()
{
    vec4 world = M * (inst_m * vec4(position, 1.0));
    frag_position = world.xyz;
    gl_Position = P * (V * world);
#ifdef NORMAL_LOC
    // Node poses are rotations with a uniform scale, so the model matrix itself maps normals
    // (pyrender inverts a 4x4 matrix per vertex here); the fragment shader normalises.
    frag_normal = mat3(M) * (mat3(inst_m) * normal);
#endif
}
"""

_FRAGMENT = """
struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
#ifdef DIRECTIONAL_LIGHT_SHADOWS
    sampler2DShadow shadow_map;
    mat4 light_matrix;
#endif
};

struct PointLight {
    vec3 color;
    float intensity;
    vec3 position;
};

struct Material {
    vec4 base_color_factor;
    float metallic_factor;
    float roughness_factor;
};

uniform Material material;
uniform PointLight point_lights[MAX_POINT_LIGHTS];
uniform int n_point_lights;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 cam_pos;
uniform vec3 ambient_light;

in vec3 frag_position;
#ifdef NORMAL_LOC
in vec3 frag_normal;
#endif
out vec4 frag_color;

const float PI = 3.14159265;

float key_visibility(vec3 n)
{
    // 1 where the key light reaches this fragment, 0 in its shadow; 1 outside the shadow map.
#ifdef DIRECTIONAL_LIGHT_SHADOWS
    mat4 m = directional_lights[0].light_matrix;
    float size = float(textureSize(directional_lights[0].shadow_map, 0).x);
#ifdef NORMAL_LOC
    // Objects: one filtered read, a few texels out along the normal against shadow acne.
    float texel = 2.0 / (length(vec3(m[0][0], m[1][0], m[2][0])) * size);
    vec4 p = m * vec4(frag_position + n * (SHADOW_NORMAL_OFFSET * texel), 1.0);
#else
    // The floor: receives only (it is not in the map), four spread reads for soft edges.
    vec4 p = m * vec4(frag_position, 1.0);
#endif
    vec3 c = p.xyz / p.w * 0.5 + 0.5;
    if (any(lessThan(c, vec3(0.0))) || any(greaterThan(c, vec3(1.0)))) {
        return 1.0;
    }
    float ref = c.z - SHADOW_BIAS;
#ifdef NORMAL_LOC
    return texture(directional_lights[0].shadow_map, vec3(c.xy, ref));
#else
    vec2 d = vec2(SHADOW_SOFTNESS / size);
    return 0.25 * (
        texture(directional_lights[0].shadow_map, vec3(c.xy + d * vec2(-0.4, -1.2), ref))
        + texture(directional_lights[0].shadow_map, vec3(c.xy + d * vec2(1.2, -0.4), ref))
        + texture(directional_lights[0].shadow_map, vec3(c.xy + d * vec2(0.4, 1.2), ref))
        + texture(directional_lights[0].shadow_map, vec3(c.xy + d * vec2(-1.2, 0.4), ref)));
#endif
#else
    return 1.0;
#endif
}

vec3 point_radiance(int i, out vec3 l, out float d)
{
    // Radiance of point light i at this fragment, falling off like a lamp of radius
    // sqrt(POINT_LIGHT_RADIUS2); l is the unit direction to it, d its distance.
    vec3 to_light = point_lights[i].position - frag_position;
    float d2 = dot(to_light, to_light);
    float inv = inversesqrt(d2);
    l = to_light * inv;
    d = d2 * inv;
    return point_lights[i].color * (point_lights[i].intensity / (d2 + POINT_LIGHT_RADIUS2));
}

#ifdef NORMAL_LOC
vec3 environment(vec3 r, float roughness)
{
    // Sky above the horizon; below it the floor, darkened where the reflected ray meets the
    // floor close by (the object's own contact shadow), which shades metal from the bottom up.
    float blur = 0.04 + 0.6 * roughness * roughness;
    float above = smoothstep(-blur, blur, r.z);
    vec3 sky = mix(ENV_HORIZON, ENV_ZENITH, sqrt(clamp(r.z, 0.0, 1.0)));
    float reach = max(frag_position.z, 0.0) / max(-r.z, 1e-3);
    vec2 d = r.xy * inversesqrt(max(dot(r.xy, r.xy), 1e-8));
    float bands = 1.0 + ENV_BANDS * (d.x * d.x - d.y * d.y);
    vec3 ground = ENV_GROUND * bands
                * mix(ENV_CONTACT, 1.0, smoothstep(0.0, ENV_CONTACT_RANGE, reach))
                * mix(1.0, ENV_FAR, smoothstep(2.0, 12.0, reach));
    return mix(ground, sky, above);
}

vec3 brdf(vec3 n, vec3 v, vec3 l, vec3 c_diff, vec3 f0, float a, float k, float widen)
{
    // GGX with Smith-Schlick visibility; ``widen`` grows the lobe like a light of finite size
    // (energy kept by the (a / a')^2 factor), so highlights look like CLEVR's area lamps.
    float nl = max(dot(n, l), 0.0);
    vec3 h = normalize(l + v);
    float nh = max(dot(n, h), 0.0);
    float nv = max(dot(n, v), 1e-3);
    float x = 1.0 - max(dot(v, h), 0.0);
    float x2 = x * x;
    vec3 fresnel = f0 + (1.0 - f0) * (x2 * x2 * x);
    float aw = min(a + widen, 1.0);
    float a2 = aw * aw;
    float q = nh * nh * (a2 - 1.0) + 1.0;
    float distribution = a * a / (PI * q * q);
    float visibility = 0.25 / ((nl * (1.0 - k) + k) * (nv * (1.0 - k) + k));
    return nl * ((1.0 - fresnel) * c_diff / PI + fresnel * (distribution * visibility));
}

void main()
{
    vec3 base = material.base_color_factor.rgb;
    float metallic = clamp(material.metallic_factor, 0.0, 1.0);
    float roughness = clamp(material.roughness_factor, 0.04, 1.0);
    float a = roughness * roughness;
    float k = (roughness + 1.0) * (roughness + 1.0) / 8.0;
    vec3 c_diff = base * (0.96 * (1.0 - metallic));
    vec3 f0 = mix(vec3(0.04), base, metallic);
    vec3 n = normalize(frag_normal);
    vec3 v = normalize(cam_pos - frag_position);

    vec3 color = vec3(0.0);
    if (n_directional_lights > 0) {
        vec3 l = -normalize(directional_lights[0].direction);
        vec3 radiance = directional_lights[0].color * directional_lights[0].intensity;
        color += key_visibility(n) * radiance * brdf(n, v, l, c_diff, f0, a, k, KEY_LIGHT_SPREAD);
    }
    for (int i = 0; i < n_point_lights; i++) {
        vec3 l;
        float d;
        vec3 radiance = point_radiance(i, l, d);
        color += radiance * brdf(n, v, l, c_diff, f0, a, k, POINT_LIGHT_SPREAD / d);
    }

    float nv = clamp(dot(n, v), 0.0, 1.0);
    float x = 1.0 - nv;
    float x2 = x * x;
    vec3 fresnel = f0 + (max(vec3(1.0 - roughness), f0) - f0) * (x2 * x2 * x);
    vec3 reflection = environment(reflect(-v, n), roughness) * fresnel
                    * (ENV_STRENGTH * (1.0 - 0.5 * roughness));
    color += c_diff * ambient_light * (0.8 + 0.2 * n.z) + reflection;
    frag_color = vec4(pow(clamp(color, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
#else
void main()
{
    vec3 albedo = material.base_color_factor.rgb / PI;
    vec3 color = vec3(0.0);
    if (n_directional_lights > 0) {
        float nl = max(-normalize(directional_lights[0].direction).z, 0.0);
        vec3 radiance = directional_lights[0].color * directional_lights[0].intensity;
        color += key_visibility(vec3(0.0)) * nl * radiance;
    }
    for (int i = 0; i < n_point_lights; i++) {
        vec3 l;
        float d;
        vec3 radiance = point_radiance(i, l, d);
        color += max(l.z, 0.0) * radiance;
    }
    color = albedo * color + material.base_color_factor.rgb * ambient_light;
    frag_color = vec4(pow(clamp(color, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
#endif
"""


def _vec3(rgb: tuple[float, float, float]) -> str:
    return "vec3({:.5f}, {:.5f}, {:.5f})".format(*rgb)


def _constants() -> dict[str, str]:
    """The look's numbers as GLSL literals."""
    return {
        "ENV_GROUND": _vec3(look.ENV_GROUND),
        "ENV_HORIZON": _vec3(look.ENV_HORIZON),
        "ENV_ZENITH": _vec3(look.ENV_ZENITH),
        "ENV_STRENGTH": f"{look.ENV_STRENGTH:.5f}",
        "ENV_CONTACT": f"{look.ENV_CONTACT:.5f}",
        "ENV_FAR": f"{look.ENV_FAR:.5f}",
        "ENV_BANDS": f"{look.ENV_BANDS:.5f}",
        "ENV_CONTACT_RANGE": f"{look.ENV_CONTACT_RANGE:.5f}",
        "POINT_LIGHT_RADIUS2": f"{look.POINT_LIGHT_RADIUS ** 2:.5f}",
        "POINT_LIGHT_SPREAD": f"{look.HIGHLIGHT_SIZE / 2.0:.5f}",
        "KEY_LIGHT_SPREAD": f"{look.KEY_HIGHLIGHT_SPREAD:.5f}",
        "SHADOW_SOFTNESS": f"{look.SHADOW_SOFTNESS:.5f}",
        "SHADOW_NORMAL_OFFSET": f"{look.SHADOW_NORMAL_OFFSET:.5f}",
        "SHADOW_BIAS": f"{look.SHADOW_BIAS:.7f}",
    }


def shader_source(name: str, defines: dict[str, Any]) -> str:
    """Full GLSL source of clevrlite's ``name`` ('mesh.vert' or 'mesh.frag') for pyrender's
    ``defines`` (buffer locations, shadow flags), which become #define lines."""
    lines = ["#version 330 core"]
    lines += [f"#define {key} {value}" for key, value in {**defines, **_constants()}.items()]
    return "\n".join(lines) + _SOURCES[name]


_SOURCES = {"mesh.vert": _VERTEX, "mesh.frag": _FRAGMENT}


class ClevrProgramCache(ShaderProgramCache):
    """pyrender's shader cache, compiling clevrlite's fragment shader in place of mesh.frag.

    It also memoises uniform locations: pyrender asks GL for every uniform's location on
    every set (hundreds per frame), which is pure Python/GL-call overhead on a software GL.
    """

    def __init__(self) -> None:
        super().__init__()
        shader_program.glGetUniformLocation = _cached_uniform_location

    def get_program(self, vertex_shader: str, fragment_shader: str,
                    geometry_shader: str | None = None, defines: dict | None = None) -> Any:
        program = super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)
        if fragment_shader in _SOURCES and not program._in_context():
            program._load = _loader(program._load, dict(defines or {}))
        return program

    def clear(self) -> None:
        super().clear()
        _uniform_locations.clear()


_uniform_locations: dict[tuple[int, str], int] = {}


def _cached_uniform_location(program_id: int, name: str) -> int:
    """glGetUniformLocation, remembered per (program, name) until the programs are deleted."""
    key = (int(program_id), name)
    location = _uniform_locations.get(key)
    if location is None:
        location = _uniform_locations[key] = int(GL.glGetUniformLocation(program_id, name))
    return location


def _loader(load: Callable[[str], str], defines: dict[str, Any]) -> Callable[[str], str]:
    """Wrap a program's file loader so that mesh.vert and mesh.frag come back as ours."""
    def patched(filename: str) -> str:
        name = os.path.basename(filename)
        return shader_source(name, defines) if name in _SOURCES else load(filename)
    return patched
