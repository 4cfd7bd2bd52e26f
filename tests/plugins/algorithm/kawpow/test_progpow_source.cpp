// Tests for plugins/algorithm/kawpow/progpow_source: the CUDA / OpenCL / GLSL text of a period's progPowLoop.
//
//  - Semantics: the generated statements are executed back, one lane at a time, by a small interpreter of
//    the fixed statement forms the generator emits (anything else inside the function body fails the test),
//    and the registers must equal those of the CPU interpreter (progpow.cpp run_loop) for every lane. So
//    the op sequence in the text is the one the CPU verifier runs.
//  - Shape: op counts, determinism per period, both dialects carry the same sequence.
//  - Compilers: when clang (OpenCL C 1.2), nvcc (CUDA, to PTX) or glslc (GLSL for Vulkan, to SPIR-V) is
//    installed, the text is compiled inside a small kernel; otherwise those tests are skipped with a message.
#include "progpow.hpp"
#include "progpow_source.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#ifndef OTEDAMA_TEST_CLANG
#define OTEDAMA_TEST_CLANG ""
#endif
#ifndef OTEDAMA_TEST_NVCC
#define OTEDAMA_TEST_NVCC ""
#endif
#ifndef OTEDAMA_TEST_GLSLC
#define OTEDAMA_TEST_GLSLC ""
#endif

namespace {

namespace kp = otedama::kawpow;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(' ');
    return b == std::string::npos ? std::string() : s.substr(b);
}

/// The statements of progPowLoop's body that carry the program (cache loads, math, merges), in order.
std::vector<std::string> op_statements(const std::string& source) {
    std::vector<std::string> out;
    bool in_body = false;
    for (const std::string& raw : lines_of(source)) {
        const std::string l = trim(raw);
        if (l == "{") {
            in_body = true;
            continue;
        }
        if (!in_body || l.empty() || l.rfind("/*", 0) == 0 || l.rfind("*", 0) == 0) continue;
        if (l.rfind("mix[", 0) == 0 || l.rfind("data = ", 0) == 0 || l.rfind("offset = mix[", 0) == 0) out.push_back(l);
    }
    return out;
}

/// Executes the generated body for one lane. Fails (ADD_FAILURE) on any statement it does not know.
class LaneInterpreter {
public:
    LaneInterpreter(uint32_t lane, uint32_t loop, const uint32_t* entry, const kp::L1Cache& l1) : l1_(l1) {
        for (uint32_t i = 0; i < kp::kDagLoads; ++i) dag_[i] = entry[((lane ^ loop) % kp::kLanes) * kp::kDagLoads + i];
    }

    void run(const std::string& source, std::array<uint32_t, kp::kRegs>& mix) {
        bool in_body = false;
        for (const std::string& raw : lines_of(source)) {
            const std::string l = trim(raw);
            if (l == "{") {
                in_body = true;
                continue;
            }
            if (!in_body || l.empty() || l == "}" || l.rfind("/*", 0) == 0 || l.rfind("* ", 0) == 0 || l.rfind("*/", 0) == 0) continue;
            if (is_boilerplate(l)) continue;
            execute(l, mix);
        }
    }

    int cache_loads = 0, math_ops = 0, dag_merges = 0, merges = 0;

private:
    static bool is_boilerplate(const std::string& l) {
        static const char* const kKnown[] = {
            "dag_t data_dag;", "uint32_t offset, data;", "uint offset, data;", "const uint32_t lane_id =",
            "const uint lane_id =", "offset = __shfl_sync(", "if (lane_id == loop % PROGPOW_LANES) share[0] = mix[0];",
            "barrier(CLK_LOCAL_MEM_FENCE);", "offset = share[0];", "offset %= PROGPOW_DAG_ELEMENTS;",
            "data_dag = g_dag[(size_t)offset * PROGPOW_LANES + ((lane_id ^ loop) % PROGPOW_LANES)];",
            "if (hack_false) ",
            // GLSL
            "if (lane_id == loop % PROGPOW_LANES) share[gl_LocalInvocationID.x / PROGPOW_LANES] = mix[0];",
            "memoryBarrierShared();", "barrier();", "offset = share[gl_LocalInvocationID.x / PROGPOW_LANES];",
            "data_dag = otd_progpow_dag_load(offset * PROGPOW_LANES + ((lane_id ^ loop) % PROGPOW_LANES));"};
        for (const char* k : kKnown) {
            if (l.rfind(k, 0) == 0) return true;
        }
        return false;
    }

    uint32_t value(const std::string& token, const std::array<uint32_t, kp::kRegs>& mix) {
        std::smatch m;
        static const std::regex reg(R"(mix\[(\d+)\])");
        static const std::regex dag(R"(data_dag\.s\[(\d)\])");
        if (token == "data") return data_;
        if (std::regex_match(token, m, reg)) return mix.at(std::stoul(m[1]));
        if (std::regex_match(token, m, dag)) {
            ++dag_merges;
            return dag_.at(std::stoul(m[1]));
        }
        ADD_FAILURE() << "unknown operand " << token;
        return 0;
    }

    void execute(const std::string& l, std::array<uint32_t, kp::kRegs>& mix) {
        std::smatch m;
        static const std::regex cache_offset(R"(offset = mix\[(\d+)\] % PROGPOW_CACHE_WORDS;)");
        static const std::regex cache_load(R"(data = c_dag\[offset\];)");
        static const std::regex binary(R"(data = (mix\[\d+\]) ([-+*&|^]) (mix\[\d+\]);)");
        static const std::regex call2(R"(data = (MUL_HI|MIN|ROTL32|ROTR32)\((mix\[\d+\]), (mix\[\d+\])\);)");
        static const std::regex count2(R"(data = (CLZ|POPCOUNT)\((mix\[\d+\])\) \+ (CLZ|POPCOUNT)\((mix\[\d+\])\);)");
        static const std::regex mul_add(R"(mix\[(\d+)\] = \(mix\[(\d+)\] \* 33u\) \+ ([a-z_\[\]\.0-9]+);)");
        static const std::regex xor_mul(R"(mix\[(\d+)\] = \(mix\[(\d+)\] \^ ([a-z_\[\]\.0-9]+)\) \* 33u;)");
        static const std::regex rot_xor(R"(mix\[(\d+)\] = (ROTL32|ROTR32)\(mix\[(\d+)\], (\d+)u\) \^ ([a-z_\[\]\.0-9]+);)");
        if (std::regex_match(l, m, cache_offset)) {
            offset_ = mix.at(std::stoul(m[1])) % kp::kCacheWords;
        } else if (std::regex_match(l, m, cache_load)) {
            data_ = l1_.words.at(offset_);
            ++cache_loads;
        } else if (std::regex_match(l, m, binary)) {
            const uint32_t a = value(m[1], mix), b = value(m[3], mix);
            const char op = m[2].str()[0];
            data_ = op == '+' ? a + b : op == '*' ? a * b : op == '&' ? (a & b) : op == '|' ? (a | b) : (a ^ b);
            if (op == '-') ADD_FAILURE() << "no subtraction in ProgPoW: " << l;
            ++math_ops;
        } else if (std::regex_match(l, m, call2)) {
            const uint32_t a = value(m[2], mix), b = value(m[3], mix);
            const std::string f = m[1];
            data_ = f == "MUL_HI" ? kp::mul_hi32(a, b) : f == "MIN" ? std::min(a, b) : f == "ROTL32" ? kp::rotl32(a, b) : kp::rotr32(a, b);
            ++math_ops;
        } else if (std::regex_match(l, m, count2)) {
            if (m[1] != m[3]) ADD_FAILURE() << "mixed count functions: " << l;
            const uint32_t a = value(m[2], mix), b = value(m[4], mix);
            data_ = m[1] == "CLZ" ? kp::clz32(a) + kp::clz32(b) : kp::popcount32(a) + kp::popcount32(b);
            ++math_ops;
        } else if (std::regex_match(l, m, mul_add)) {
            check_same(m[1], m[2], l);
            uint32_t& d = mix.at(std::stoul(m[1]));
            d = d * 33u + value(m[3], mix);
            ++merges;
        } else if (std::regex_match(l, m, xor_mul)) {
            check_same(m[1], m[2], l);
            uint32_t& d = mix.at(std::stoul(m[1]));
            d = (d ^ value(m[3], mix)) * 33u;
            ++merges;
        } else if (std::regex_match(l, m, rot_xor)) {
            check_same(m[1], m[3], l);
            const uint32_t r = static_cast<uint32_t>(std::stoul(m[4]));
            EXPECT_GE(r, 1u);
            EXPECT_LE(r, 31u);
            uint32_t& d = mix.at(std::stoul(m[1]));
            const uint32_t v = value(m[5], mix);
            d = (m[2] == "ROTL32" ? kp::rotl32(d, r) : kp::rotr32(d, r)) ^ v;
            ++merges;
        } else {
            ADD_FAILURE() << "statement the generator should not emit: " << l;
        }
    }
    static void check_same(const std::string& a, const std::string& b, const std::string& l) {
        if (a != b) ADD_FAILURE() << "merge reads another register than it writes: " << l;
    }

    const kp::L1Cache& l1_;
    std::array<uint32_t, kp::kDagLoads> dag_{};
    uint32_t offset_ = 0;
    uint32_t data_ = 0;
};

struct Fixture {
    kp::L1Cache l1;
    std::array<uint32_t, kp::kEntryWords> entry{};
    kp::Mix mix{};
    explicit Fixture(uint32_t seed) {
        kp::Kiss99 rng{seed, seed ^ 0x5a5a5a5au, 3, 4};
        for (auto& w : l1.words) w = rng();
        for (auto& w : entry) w = rng();
        for (auto& row : mix.r) {
            for (auto& w : row) w = rng();
        }
        // Zero and tiny registers exercise clz(0) = 32 and rotations by 0 or 32.
        mix.r[3][0] = 0;
        mix.r[4][1] = 32;
    }
};

void expect_text_runs_like_the_interpreter(uint64_t period, kp::Dialect dialect) {
    const kp::Program program = kp::generate_program(period);
    const std::string source = kp::period_source(program, dialect);
    Fixture fx(static_cast<uint32_t>(period * 2654435761u + 1));
    for (const uint32_t loop : {0u, 1u, 17u, 63u}) {
        kp::Mix cpu = fx.mix;
        kp::run_loop(program, loop, cpu, fx.entry.data(), fx.l1);
        for (uint32_t lane = 0; lane < kp::kLanes; ++lane) {
            std::array<uint32_t, kp::kRegs> regs{};
            for (uint32_t r = 0; r < kp::kRegs; ++r) regs[r] = fx.mix.r[r][lane];
            LaneInterpreter text(lane, loop, fx.entry.data(), fx.l1);
            text.run(source, regs);
            ASSERT_EQ(text.cache_loads, static_cast<int>(kp::kCntCache));
            ASSERT_EQ(text.math_ops, static_cast<int>(kp::kCntMath));
            ASSERT_EQ(text.dag_merges, static_cast<int>(kp::kDagLoads));
            ASSERT_EQ(text.merges, static_cast<int>(kp::kCntCache + kp::kCntMath + kp::kDagLoads));
            for (uint32_t r = 0; r < kp::kRegs; ++r) {
                ASSERT_EQ(regs[r], cpu.r[r][lane]) << "period " << period << " loop " << loop << " lane " << lane << " reg " << r;
            }
        }
    }
}

TEST(ProgpowSource, TextRunsLikeTheCpuInterpreter) {
    for (const uint64_t period : {uint64_t{0}, uint64_t{16}, uint64_t{600}, uint64_t{10000}, uint64_t{406587}}) {
        SCOPED_TRACE(period);
        expect_text_runs_like_the_interpreter(period, kp::Dialect::kCuda);
        expect_text_runs_like_the_interpreter(period, kp::Dialect::kOpenCl);
        expect_text_runs_like_the_interpreter(period, kp::Dialect::kGlsl);
    }
}

TEST(ProgpowSource, DeterministicAndPerPeriod) {
    for (const auto dialect : {kp::Dialect::kCuda, kp::Dialect::kOpenCl, kp::Dialect::kGlsl}) {
        const std::string a = kp::period_source(kp::generate_program(5), dialect);
        EXPECT_EQ(a, kp::period_source(kp::generate_program(5), dialect));
        EXPECT_NE(a, kp::period_source(kp::generate_program(6), dialect));
        EXPECT_EQ(a.find('\0'), std::string::npos);
        EXPECT_NE(a.find("period 5, blocks 15..17"), std::string::npos);
    }
    // Both dialects carry the same program statements.
    const kp::Program p = kp::generate_program(123);
    const auto cuda = op_statements(kp::period_source(p, kp::Dialect::kCuda));
    const auto ocl = op_statements(kp::period_source(p, kp::Dialect::kOpenCl));
    EXPECT_EQ(cuda, ocl);
    EXPECT_EQ(cuda, op_statements(kp::period_source(p, kp::Dialect::kGlsl)));
    EXPECT_EQ(cuda.size(), 3 * kp::kCntCache + 2 * kp::kCntMath + kp::kDagLoads);  // offset, load, merge | math, merge | merge
}

TEST(ProgpowSource, OneStatementPerProgramOpInProgramOrder) {
    const kp::Program p = kp::generate_program(77);
    const auto st = op_statements(kp::period_source(p, kp::Dialect::kOpenCl));
    size_t i = 0;
    for (const kp::Op& op : p.ops) {
        ASSERT_LT(i + 1, st.size());
        if (op.kind == kp::Op::Kind::kCache) {
            EXPECT_EQ(st[i], "offset = mix[" + std::to_string(op.src1) + "] % PROGPOW_CACHE_WORDS;");
            i += 1;  // "data = c_dag[offset];" is not an op statement
            EXPECT_EQ(st[i], "data = c_dag[offset];");
        } else {
            EXPECT_EQ(st[i].rfind("data = ", 0), 0u);
            EXPECT_NE(st[i].find("mix[" + std::to_string(op.src1) + "]"), std::string::npos) << st[i];
            EXPECT_NE(st[i].find("mix[" + std::to_string(op.src2) + "]"), std::string::npos) << st[i];
        }
        ++i;
        EXPECT_EQ(st[i].rfind("mix[" + std::to_string(op.dst) + "] = ", 0), 0u) << st[i];
        ++i;
    }
    for (const kp::DagMerge& m : p.dag_merges) {
        ASSERT_LT(i, st.size());
        EXPECT_EQ(st[i].rfind("mix[" + std::to_string(m.dst) + "] = ", 0), 0u) << st[i];
        ++i;
    }
    EXPECT_EQ(i, st.size());
}

// ---------------------------------------------------------------------------------------------------------
// Compiling the text

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/otedama-progpow-XXXXXX";
        const char* d = ::mkdtemp(tmpl);
        if (d != nullptr) path_ = d;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

int run(const std::string& command, std::string& output) {
    output.clear();
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (p == nullptr) return -1;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p) != nullptr) output += buf;
    return ::pclose(p);
}

constexpr const char* kOpenClKernel = R"(
__kernel void otd_test_kawpow_loop(__global const dag_t* g_dag, __global const uint* l1, __global uint* out)
{
    __local uint c_dag[PROGPOW_CACHE_WORDS];
    __local uint share[1];
    for (uint w = get_local_id(0); w < PROGPOW_CACHE_WORDS; w += get_local_size(0)) c_dag[w] = l1[w];
    barrier(CLK_LOCAL_MEM_FENCE);
    uint mix[PROGPOW_REGS];
    for (uint r = 0; r < PROGPOW_REGS; ++r) mix[r] = (uint)get_global_id(0) * 33u + r;
    for (uint loop = 0; loop < PROGPOW_CNT_DAG; ++loop) progPowLoop(loop, mix, g_dag, c_dag, share, false);
    out[get_global_id(0)] = mix[0] ^ mix[31];
}
)";

constexpr const char* kCudaKernel = R"(
__global__ void otd_test_kawpow_loop(const dag_t* g_dag, const uint32_t* l1, uint32_t* out)
{
    __shared__ uint32_t c_dag[PROGPOW_CACHE_WORDS];
    for (uint32_t w = threadIdx.x; w < PROGPOW_CACHE_WORDS; w += blockDim.x) c_dag[w] = l1[w];
    __syncthreads();
    uint32_t mix[PROGPOW_REGS];
    for (uint32_t r = 0; r < PROGPOW_REGS; ++r) mix[r] = (blockIdx.x * blockDim.x + threadIdx.x) * 33u + r;
    for (uint32_t loop = 0; loop < PROGPOW_CNT_DAG; ++loop) progPowLoop(loop, mix, g_dag, c_dag, false);
    out[blockIdx.x * blockDim.x + threadIdx.x] = mix[0] ^ mix[31];
}
)";

// A compute shader around the GLSL text: 64 invocations (4 hashes) per work-group, the DAG as dag_t words.
constexpr const char* kGlslHead = R"(#version 450
layout(local_size_x = 64) in;
)";
constexpr const char* kGlslKernel = R"(
layout(std430, set = 0, binding = 0) readonly buffer Dag { uvec4 dag[]; };
layout(std430, set = 0, binding = 1) buffer Out { uint out_words[]; };
dag_t otd_progpow_dag_load(uint index) {
    const uvec4 v = dag[index];
    dag_t d;
    d.s[0] = v.x;
    d.s[1] = v.y;
    d.s[2] = v.z;
    d.s[3] = v.w;
    return d;
}
void main() {
    for (uint w = gl_LocalInvocationID.x; w < PROGPOW_CACHE_WORDS / 4u; w += gl_WorkGroupSize.x) {
        const uvec4 v = dag[w];
        c_dag[4u * w] = v.x;
        c_dag[4u * w + 1u] = v.y;
        c_dag[4u * w + 2u] = v.z;
        c_dag[4u * w + 3u] = v.w;
    }
    memoryBarrierShared();
    barrier();
    uint mix[PROGPOW_REGS];
    for (uint r = 0u; r < PROGPOW_REGS; ++r) mix[r] = gl_GlobalInvocationID.x * 33u + r;
    for (uint loop = 0u; loop < PROGPOW_CNT_DAG; ++loop) progPowLoop(loop, mix, false);
    out_words[gl_GlobalInvocationID.x] = mix[0] ^ mix[31];
}
)";

TEST(ProgpowSource, GlslTextCompilesWithGlslc) {
    const std::string glslc = OTEDAMA_TEST_GLSLC;
    if (glslc.empty()) GTEST_SKIP() << "no glslc found at configure time: GLSL compile check skipped";
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    for (const uint64_t period : {uint64_t{0}, uint64_t{406587}}) {
        const std::string file = dir.path() + "/kawpow_" + std::to_string(period) + ".comp";
        {
            std::ofstream f(file);
            f << kGlslHead << "#define PROGPOW_DAG_ELEMENTS 4194304u\n"
              << kp::period_source(kp::generate_program(period), kp::Dialect::kGlsl) << kGlslKernel;
        }
        std::string out;
        const int rc = run("'" + glslc + "' --target-env=vulkan1.0 -Werror -O -o '" + file + ".spv' '" + file + "'", out);
        EXPECT_EQ(rc, 0) << out;
    }
}

TEST(ProgpowSource, OpenClTextCompilesWithClang) {
    const std::string clang = OTEDAMA_TEST_CLANG;
    if (clang.empty()) GTEST_SKIP() << "no clang found at configure time: OpenCL C compile check skipped";
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    for (const uint64_t period : {uint64_t{0}, uint64_t{406587}}) {
        const std::string file = dir.path() + "/kawpow_" + std::to_string(period) + ".cl";
        {
            std::ofstream f(file);
            f << "#define PROGPOW_DAG_ELEMENTS 4194304u\n"
              << kp::period_source(kp::generate_program(period), kp::Dialect::kOpenCl) << kOpenClKernel;
        }
        std::string out;
        const int rc = run("'" + clang + "' -x cl -cl-std=CL1.2 -Xclang -finclude-default-header -target spir64 "
                                         "-Werror -Wall -O2 -S -emit-llvm -o '" + file + ".ll' '" + file + "'", out);
        EXPECT_EQ(rc, 0) << out;
    }
}

TEST(ProgpowSource, CudaTextCompilesWithNvcc) {
    const std::string nvcc = OTEDAMA_TEST_NVCC;
    if (nvcc.empty()) GTEST_SKIP() << "no nvcc found at configure time: CUDA compile check skipped";
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const std::string file = dir.path() + "/kawpow.cu";
    {
        std::ofstream f(file);
        f << "#include <stdint.h>\n#define PROGPOW_DAG_ELEMENTS 4194304u\n"
          << kp::period_source(kp::generate_program(406587), kp::Dialect::kCuda) << kCudaKernel;
    }
    std::string out;
    const int rc = run("'" + nvcc + "' -ptx -Werror all-warnings -o '" + file + ".ptx' '" + file + "'", out);
    EXPECT_EQ(rc, 0) << out;
}

}  // namespace
