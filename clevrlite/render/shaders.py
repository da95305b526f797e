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
- the key light's shadow on objects is read with hardware-filtered compares (a
  sampler2DShadow, see passes.ShadowTexture): on rubber four spread reads with a normal offset (a soft
  penumbra, no acne), and no shadow outside the fitted shadow frustum; on the floor it comes
  from the stencil (the casters flattened along the light), so it needs no read at all;
- point lights fall off as 1 / (d^2 + r^2), like lamps of radius r, so fill and back lights
  leave no hot spots on the floor;
- primitives without normals (only the floor) compile to a cheap matte, upward-facing variant;
- a second output writes each fragment's object id (the mask), from the same rasterization;
  with NORMALS_OUT defined, a third writes its camera-space normal (render --passes normals).

The shadow-map pass keeps pyrender's own shaders.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
import pyrender.shader_program as shader_program
from OpenGL import GL
from OpenGL.raw.GL.VERSION import GL_2_0 as raw_gl
from pyrender.shader_program import ShaderProgramCache

from clevrlite.render import look

NEIGHBOURS = 3  # other objects a metal object reflects: those that look largest from it

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
uniform vec2 object_id;  // the mask id's low and high byte, over 255
uniform float key_lit;  // floor: 1 where the key light reaches it, 0 in its shadow (stencil)
uniform vec4 key_lamp;  // the key light's position, and its squared distance to the origin

// A metal object and its neighbours as analytic proxies (clevrlite.meshes.Proxy), set per
// node: index 0 is the object itself (for its contact darkening on the floor it mirrors),
// then the others it reflects. Loops run over all NEIGHBOURS, which compiles them unrolled
// with constant indices (far faster on llvmpipe than indexing by a uniform count); unused
// entries hold a tiny proxy far below the floor, which neither shows nor darkens.
uniform vec4 proxy_pose[NEIGHBOURS + 1];  // world centre, scale
uniform vec4 proxy_form[NEIGHBOURS + 1];  // cos(yaw), sin(yaw), kind, bounding radius at scale 1
uniform vec4 proxy_size[NEIGHBOURS + 1];  // the kind's size numbers at scale 1
uniform vec4 proxy_color[NEIGHBOURS + 1];  // linear base colour, unused
uniform vec4 proxy_light[NEIGHBOURS + 1];  // b, a: brightness max(a + b . n, 0) at normal n

in vec3 frag_position;
#ifdef NORMAL_LOC
in vec3 frag_normal;
#endif
layout(location = 0) out vec4 frag_color;
layout(location = 1) out vec4 frag_id;  // alpha 0 marks drawn pixels (the clear leaves 1)

#ifdef NORMALS_OUT
// Optional third output (render --passes normals): the surface normal in the scene JSON's
// camera axes (x right, y down, z forward; scene.Camera.world_to_camera), stored as n/2 + 0.5.
uniform mat4 V;
layout(location = 2) out vec4 frag_camera_normal;

void write_camera_normal(vec3 n)
{
    vec3 c = mat3(V) * n;  // OpenGL's camera axes: x right, y up, z backward
    frag_camera_normal = vec4(vec3(c.x, -c.y, -c.z) * 0.5 + 0.5, 1.0);
}
#endif

const float PI = 3.14159265;

#ifdef DIRECTIONAL_LIGHT_SHADOWS
vec3 shadow_coords(vec3 p)
{
    vec4 c = directional_lights[0].light_matrix * vec4(p, 1.0);
    return c.xyz / c.w * 0.5 + 0.5;
}

bool outside_map(vec3 c)
{
    return any(lessThan(c, vec3(0.0))) || any(greaterThan(c, vec3(1.0)));
}
#endif

float key_visibility(vec3 p)
{
    // 1 where the key light reaches point p, 0 in its shadow; 1 outside the shadow map. One
    // filtered read (a bilinear 2x2 compare).
#ifdef DIRECTIONAL_LIGHT_SHADOWS
    vec3 c = shadow_coords(p);
    if (outside_map(c)) {
        return 1.0;
    }
    return texture(directional_lights[0].shadow_map, vec3(c.xy, c.z - SHADOW_BIAS));
#else
    return 1.0;
#endif
}

float key_visibility_soft(vec3 p)
{
    // key_visibility from four spread reads: a penumbra SHADOW_SOFTNESS texels wide.
#ifdef DIRECTIONAL_LIGHT_SHADOWS
    vec3 c = shadow_coords(p);
    if (outside_map(c)) {
        return 1.0;
    }
    float ref = c.z - SHADOW_BIAS;
    vec2 d = vec2(SHADOW_SOFTNESS / float(textureSize(directional_lights[0].shadow_map, 0).x));
    return 0.25 * (
        texture(directional_lights[0].shadow_map, vec3(c.xy + d * vec2(-0.4, -1.2), ref))
        + texture(directional_lights[0].shadow_map, vec3(c.xy + d * vec2(1.2, -0.4), ref))
        + texture(directional_lights[0].shadow_map, vec3(c.xy + d * vec2(0.4, 1.2), ref))
        + texture(directional_lights[0].shadow_map, vec3(c.xy + d * vec2(-1.2, 0.4), ref)));
#else
    return 1.0;
#endif
}

vec3 key_direction()
{
    return -normalize(directional_lights[0].direction);
}

vec3 key_radiance(vec3 p)
{
    // The key shines in parallel (its shadows are a directional light's), but it falls off
    // like the lamp it is, from its position: as bright as its intensity at the origin,
    // brighter on the floor in front of it, dimmer behind (CLEVR's floor gradient).
    vec3 to_lamp = key_lamp.xyz - p;
    return directional_lights[0].color * directional_lights[0].intensity
           * ((key_lamp.w + KEY_FALLOFF_SOFTEN2) / (dot(to_lamp, to_lamp) + KEY_FALLOFF_SOFTEN2));
}

vec3 point_radiance(int i, vec3 p, out vec3 l, out float d)
{
    // Radiance of point light i at point p, falling off like a lamp of radius
    // sqrt(POINT_LIGHT_RADIUS2); l is the unit direction to it, d its distance.
    vec3 to_light = point_lights[i].position - p;
    float d2 = dot(to_light, to_light);
    float inv = inversesqrt(d2);
    l = to_light * inv;
    d = d2 * inv;
    return point_lights[i].color * (point_lights[i].intensity / (d2 + POINT_LIGHT_RADIUS2));
}

struct Proxy {
    vec4 pose;
    vec4 form;
    vec4 size;
    vec4 color;
    vec4 light;
};

Proxy proxy(int i)
{
    // Read once per loop step: llvmpipe fetches indexed uniforms lane by lane.
    return Proxy(proxy_pose[i], proxy_form[i], proxy_size[i], proxy_color[i], proxy_light[i]);
}

float proxy_distance(Proxy pr, vec3 p, out vec3 normal)
{
    // Signed distance from p to proxy i (negative inside), and the outward normal of the
    // proxy's surface nearest p. Evaluated in the proxy's unit frame, then scaled back.
    // Boxes, spheres and cylinders share one rounded-box formula, over (|x|, |y|, |z|) or,
    // for cylinders, (radial, -, |z|): llvmpipe runs every side of a branch, so branches
    // are compiled in only for the kinds the vocabulary uses (PROXY_CONES, PROXY_TORI).
    vec4 pose = pr.pose;
    vec4 form = pr.form;
    vec4 size = pr.size;
    vec3 d = (p - pose.xyz) / pose.w;
    vec3 q = vec3(form.x * d.x + form.y * d.y, form.x * d.y - form.y * d.x, d.z);
    float rho = length(q.xy);
    vec2 radial = q.xy / max(rho, 1e-6);
    bool round_xy = form.z > 0.5;
    vec3 w = vec3(round_xy ? vec2(rho, -1e3) : abs(q.xy), abs(q.z)) - (size.xyz - size.w);
    vec3 o = max(w, 0.0);
    float top = max(w.x, max(w.y, w.z));
    float dist = length(o) + min(top, 0.0) - size.w;
    vec3 m = o + 1e-4 * step(vec3(top), w);
    m = vec3(round_xy ? radial * m.x : sign(q.xy) * m.xy, q.z < 0.0 ? -m.z : m.z);
#ifdef PROXY_CONES
    if (form.z > 1.5 && form.z < 2.5) {  // cone: base radius size.x at -size.y, apex +size.y
        vec2 s = vec2(rho, q.z);
        vec2 a = vec2(size.x, -size.y);
        vec2 e = vec2(-size.x, 2.0 * size.y);
        vec2 to_side = s - (a + e * clamp(dot(s - a, e) / dot(e, e), 0.0, 1.0));
        vec2 to_base = s - vec2(min(rho, size.x), -size.y);
        bool inside = q.z > -size.y && rho * 2.0 * size.y < size.x * (size.y - q.z);
        vec2 near = dot(to_side, to_side) < dot(to_base, to_base) ? to_side : to_base;
        dist = inside ? -length(near) : length(near);
        near = inside ? -near : near;
        m = vec3(radial * near.x, near.y);
    }
#endif
#ifdef PROXY_TORI
    if (form.z > 2.5) {  // torus: ring radius size.x, tube radius size.y
        vec2 t = vec2(rho - size.x, q.z);
        dist = length(t) - size.y;
        m = vec3(radial * t.x, t.y);
    }
#endif
    normal = normalize(vec3(form.x * m.x - form.y * m.y, form.y * m.x + form.x * m.y,
                            m.z + 1e-7));
    return dist * pose.w;
}

float floor_openness(vec3 p)
{
    // Share of light the floor keeps at p next to the metal object itself (proxy 0, the
    // contact darkening its reflection shows at its base): clevrlite.render.contact's
    // formula, which darkens the floor seen directly next to every object.
    vec4 pose = proxy_pose[0];
    vec3 to = pose.xyz - p;
    float inv = inversesqrt(dot(to, to));
    float radius = CONTACT_REACH * proxy_form[0].w * pose.w;
    float share = radius * radius * to.z * inv * inv * inv;
    return 1.0 - CONTACT_STRENGTH / (1.0 - CONTACT_CUTOFF)
                 * clamp(share - CONTACT_CUTOFF, 0.0, 1.0 - CONTACT_CUTOFF);
}

vec3 floor_radiance(vec3 p, float key_visible)
{
    // The matte floor at point p (z = 0), lit by every light (contact darkening not included).
    vec3 light = vec3(0.0);
    if (n_directional_lights > 0) {
        light += key_visible * max(key_direction().z, 0.0) * key_radiance(p);
    }
    for (int i = 0; i < n_point_lights; i++) {
        vec3 l;
        float d;
        vec3 radiance = point_radiance(i, p, l, d);
        light += max(l.z, 0.0) * radiance;
    }
    return FLOOR_ALBEDO * (light / PI + ambient_light);
}

#ifdef NORMAL_LOC
vec3 environment(vec3 r, float roughness)
{
    // Rubber's sheen: sky above the horizon; below it the floor, darkened where the reflected
    // ray meets the floor close by (the object's own contact shadow).
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

vec3 proxy_radiance(Proxy pr, vec3 n)
{
    // What a reflected ray sees of a proxy where its surface normal is n (render.stage's
    // proxy_lighting: rubber lit by every light, metal as the gradient it mirrors).
    return pr.color.rgb * max(pr.light.w + dot(pr.light.xyz, n), 0.0);
}

vec3 traced_environment(vec3 p, vec3 r, float roughness)
{
    // Metal's mirror: along reflected ray r from p, the other objects (proxies, blended by
    // how much of a cone of width ``blur`` each covers), then the floor with its shadows and
    // contact darkening, or the sky above the horizon.
    float blur = 0.04 + 0.6 * roughness * roughness;
    float t_floor = r.z < -1e-4 ? p.z / -r.z : 1e6;
    vec3 hit = p + r * min(t_floor, 1e3);
    vec2 d = r.xy * inversesqrt(max(dot(r.xy, r.xy), 1e-8));
    vec3 ground = floor_radiance(hit, key_visibility(hit)) * floor_openness(hit)
                * (1.0 + ENV_BANDS * (d.x * d.x - d.y * d.y));
    vec3 sky = mix(ENV_HORIZON, ENV_ZENITH, sqrt(clamp(r.z, 0.0, 1.0)));
    vec3 behind = mix(ground, sky, smoothstep(-blur, blur, r.z));
    vec3 seen = vec3(0.0);
    float weights = 0.0;
    float clear = 1.0;
    for (int i = 1; i <= NEIGHBOURS; i++) {
        Proxy pr = proxy(i);
        float t = dot(pr.pose.xyz - p, r);
        if (t <= 0.0) {
            continue;
        }
        vec3 n;
        float d = proxy_distance(pr, p + r * min(t, t_floor), n);
        float width = blur * t + REFLECTION_EDGE;
        float cover = 1.0 - smoothstep(-width, width, d);
        if (cover <= 0.0) {
            continue;
        }
        // Shade where the ray enters: the bounding sphere, then one sphere-tracing step.
        float bound = pr.form.w * pr.pose.w;
        float miss = length(pr.pose.xyz - (p + r * t));
        float enter = max(t - sqrt(max(bound * bound - miss * miss, 0.0)), 0.0);
        enter += max(proxy_distance(pr, p + r * enter, n), 0.0);
        float weight = cover / (1e-3 + enter * enter);
        seen += weight * proxy_radiance(pr, n);
        weights += weight;
        clear *= 1.0 - cover;
    }
    return mix(seen / max(weights, 1e-6), behind, clear);
}

vec3 brdf(vec3 n, vec3 v, vec3 l, vec3 c_diff, vec3 f0, float a, float k, float widen,
          float gain)
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
    return nl * ((1.0 - fresnel) * c_diff / PI
                 + fresnel * (gain * distribution * visibility));
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
    float gain = mix(1.0, HIGHLIGHT_GAIN, metallic);  // metal shows the lamps brighter

    vec3 color = vec3(0.0);
    if (n_directional_lights > 0) {
#ifdef DIRECTIONAL_LIGHT_SHADOWS
        // A few texels out along the normal against shadow acne.
        mat4 m = directional_lights[0].light_matrix;
        float texel = 2.0 / (length(vec3(m[0][0], m[1][0], m[2][0]))
                             * float(textureSize(directional_lights[0].shadow_map, 0).x));
        vec3 lookup = frag_position + n * (SHADOW_NORMAL_OFFSET * texel);
#ifdef MIRROR
        float visible = key_visibility(lookup);  // metal shows the key only as a highlight
#else
        float visible = key_visibility_soft(lookup);
#endif
#else
        float visible = 1.0;
#endif
        color += visible * key_radiance(frag_position)
               * brdf(n, v, key_direction(), c_diff, f0, a, k, KEY_LIGHT_SPREAD, gain);
    }
    for (int i = 0; i < n_point_lights; i++) {
        vec3 l;
        float d;
        vec3 radiance = point_radiance(i, frag_position, l, d);
        color += radiance * brdf(n, v, l, c_diff, f0, a, k, POINT_LIGHT_SPREAD / d, gain);
    }

    float nv = clamp(dot(n, v), 0.0, 1.0);
    float x = 1.0 - nv;
    float x2 = x * x;
    vec3 fresnel = f0 + (max(vec3(1.0 - roughness), f0) - f0) * (x2 * x2 * x);
    vec3 r = reflect(-v, n);
#ifdef MIRROR
    vec3 seen = traced_environment(frag_position, r, roughness);
#else
    vec3 seen = environment(r, roughness);
#endif
    color += c_diff * ambient_light * (OBJECT_AMBIENT * (0.8 + 0.2 * n.z))
           + seen * fresnel * (ENV_STRENGTH * (1.0 - 0.5 * roughness));
    frag_color = vec4(pow(clamp(color, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
    frag_id = vec4(object_id, 0.0, 0.0);
#ifdef NORMALS_OUT
    write_camera_normal(n);
#endif
}
#else
void main()
{
    // No shadow-map read: the floor is drawn twice, where the stencil says the key light
    // reaches it and where it does not (passes.PassRenderer._floor_shadows), so its key
    // shadow is exact and the floor, most of the image, costs no texture read.
    vec3 color = floor_radiance(frag_position, key_lit);
#ifdef FLOOR_GREY
    // Grey floor, ambient and (white) lights: one channel to encode, not three.
    frag_color = vec4(vec3(pow(clamp(color.g, 0.0, 1.0), 1.0 / 2.2)), 1.0);
#else
    frag_color = vec4(pow(clamp(color, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
#endif
    frag_id = vec4(object_id, 0.0, 0.0);
#ifdef NORMALS_OUT
    write_camera_normal(vec3(0.0, 0.0, 1.0));
#endif
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
        "KEY_FALLOFF_SOFTEN2": f"{look.KEY_FALLOFF_SOFTEN ** 2:.5f}",
        "POINT_LIGHT_SPREAD": f"{look.HIGHLIGHT_SIZE / 2.0:.5f}",
        "KEY_LIGHT_SPREAD": f"{look.KEY_HIGHLIGHT_SPREAD:.5f}",
        "HIGHLIGHT_GAIN": f"{look.HIGHLIGHT_GAIN:.5f}",
        "OBJECT_AMBIENT": f"{look.OBJECT_AMBIENT:.5f}",
        "SHADOW_SOFTNESS": f"{look.SHADOW_SOFTNESS:.5f}",
        "SHADOW_NORMAL_OFFSET": f"{look.SHADOW_NORMAL_OFFSET:.5f}",
        "SHADOW_BIAS": f"{look.SHADOW_BIAS:.7f}",
        "FLOOR_ALBEDO": _vec3(look.FLOOR_RGB),
        "CONTACT_STRENGTH": f"{look.CONTACT_STRENGTH:.5f}",
        "CONTACT_REACH": f"{look.CONTACT_REACH:.5f}",
        "CONTACT_CUTOFF": f"{look.CONTACT_CUTOFF:.5f}",
        "REFLECTION_EDGE": f"{look.REFLECTION_EDGE:.5f}",
        "NEIGHBOURS": str(NEIGHBOURS),
        **({"FLOOR_GREY": "1"} if _grey(look.FLOOR_RGB) and _grey(look.AMBIENT_RGB) else {}),
    }


def _grey(rgb: tuple[float, float, float]) -> bool:
    return rgb[0] == rgb[1] == rgb[2]


def shader_source(name: str, defines: dict[str, Any]) -> str:
    """Full GLSL source of clevrlite's ``name`` ('mesh.vert' or 'mesh.frag') for pyrender's
    ``defines`` (buffer locations, shadow flags), which become #define lines."""
    lines = ["#version 330 core"]
    lines += [f"#define {key} {value}" for key, value in {**defines, **_constants()}.items()]
    return "\n".join(lines) + _SOURCES[name]


_SOURCES = {"mesh.vert": _VERTEX, "mesh.frag": _FRAGMENT}


class ClevrProgramCache(ShaderProgramCache):
    """pyrender's shader cache, compiling clevrlite's fragment shader in place of mesh.frag.

    It also makes pyrender's uniform setting cheaper (``set_uniform``): pyrender asks GL for
    every uniform's location on every set (about 160 sets a frame), which is pure Python and
    GL-call overhead on a software GL; locations are memoised instead.
    """

    def __init__(self, defines: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.defines = dict(defines or {})  # added to every colour program (see passes.py)
        self.mirror = False  # compile the next colour program with traced reflections
        shader_program.glGetUniformLocation = cached_uniform_location
        shader_program.ShaderProgram.set_uniform = set_uniform

    def get_program(self, vertex_shader: str, fragment_shader: str,
                    geometry_shader: str | None = None, defines: dict | None = None) -> Any:
        if fragment_shader == "mesh.frag":
            defines = {**(defines or {}), **self.defines, **({"MIRROR": 1} if self.mirror else {})}
        program = super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)
        if fragment_shader in _SOURCES and not program._in_context():
            program._load = _loader(program._load, dict(defines or {}))
        return program

    def clear(self) -> None:
        super().clear()
        _uniform_locations.clear()


_uniform_locations: dict[tuple[int, str], int] = {}


def cached_uniform_location(program_id: int, name: str) -> int:
    """glGetUniformLocation, remembered per (program, name) until the programs are deleted."""
    key = (int(program_id), name)
    location = _uniform_locations.get(key)
    if location is None:
        location = _uniform_locations[key] = int(GL.glGetUniformLocation(program_id, name))
    return location


_pyrender_set_uniform = shader_program.ShaderProgram.set_uniform
_VECTOR_SETTERS = {1: raw_gl.glUniform1fv, 2: raw_gl.glUniform2fv, 3: raw_gl.glUniform3fv,
                   4: raw_gl.glUniform4fv}


def set_uniform(program: Any, name: str, value: Any, unsigned: bool = False) -> None:
    """pyrender's ShaderProgram.set_uniform with the same effect, faster for what a frame sets:
    the location memoised, names the shader lacks skipped at once (pyrender raises and
    swallows an exception for each), and float vectors, 4x4 matrices and floats passed to
    PyOpenGL's raw entry points. Anything else goes to pyrender's own method."""
    location = cached_uniform_location(program._program_id, name)
    if location == -1:
        return
    if type(value) is np.ndarray and value.dtype.kind == "f" and not unsigned:
        if value.shape == (4, 4):
            raw_gl.glUniformMatrix4fv(location, 1, GL.GL_TRUE,
                                      np.ascontiguousarray(value, np.float32))
            return
        if value.ndim == 1 and value.shape[0] in _VECTOR_SETTERS:
            _VECTOR_SETTERS[value.shape[0]](location, 1, np.ascontiguousarray(value, np.float32))
            return
    elif type(value) is float:
        raw_gl.glUniform1f(location, value)
        return
    _pyrender_set_uniform(program, name, value, unsigned)


def _loader(load: Callable[[str], str], defines: dict[str, Any]) -> Callable[[str], str]:
    """Wrap a program's file loader so that mesh.vert and mesh.frag come back as ours."""
    def patched(filename: str) -> str:
        name = os.path.basename(filename)
        return shader_source(name, defines) if name in _SOURCES else load(filename)
    return patched
