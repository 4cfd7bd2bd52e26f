#version 450
/*
 * A deliberately wrong "sha256d" shader for the vulkan backend's self-test test: the same interface as
 * kernels/vulkan/sha256d.comp, but a single SHA-256 of the header, not a double one. Built by the test's
 * meson.build into `sha256d.spv` in a folder of its own, loaded with the plugin's `spirv_dir` setting: the
 * self-test at open must catch it (OTD_ERR_SELF_TEST), so such a device never mines. SPDX-License-Identifier: MIT
 */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "sha256.glsl"

void main() {
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.count) return;
    const uint nonce = pc.nonce_base + i;
    uint digest[8];
    [[unroll]] for (uint k = 0u; k < 8u; ++k) digest[k] = params[k];
    uint w[16];
    w[0] = params[8];
    w[1] = params[9];
    w[2] = params[10];
    w[3] = otd_bswap32(nonce);
    w[4] = 0x80000000u;
    [[unroll]] for (uint k = 5u; k < 15u; ++k) w[k] = 0u;
    w[15] = 640u;
    otd_sha256_compress(digest, w);
    if (otd_meets_target(digest)) otd_report(nonce, digest);
}
