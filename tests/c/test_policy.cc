// sbx_policy_builder and sbx_policy: groups, rules with argument conditions, default actions,
// errors reported at build, sharing a policy between threads.
#include <gtest/gtest.h>

#include <cerrno>
#include <thread>
#include <vector>

#include "sbx_test_cxx.h"

using namespace sbxtest;

namespace {

constexpr uint32_t kArch = 0xC000003Eu;  // AUDIT_ARCH_X86_64
constexpr uint32_t kRetAllow = 0x7fff0000u;
constexpr uint32_t kRetErrno = 0x00050000u;
constexpr uint32_t kRetTrace = 0x7ff00000u;
constexpr int kIoctl = 16, kUname = 63, kRead = 0, kWrite = 1;

uint32_t Decide(const sbx_policy *p, int nr, std::vector<uint64_t> regs = {}) {
    regs.resize(6, 0);
    return sbx_policy_decide(p, kArch, nr, regs.data());
}

sbx_arg Cond(uint32_t index, uint32_t width, uint32_t cmp, uint64_t value, uint64_t mask = 0) {
    sbx_arg a{};
    a.index = index;
    a.width = width;
    a.cmp = cmp;
    a.value = value;
    a.mask = mask;
    return a;
}

class EveryGroup : public ::testing::TestWithParam<uint32_t> {};

TEST_P(EveryGroup, BuildsAloneAndAllowsSomething) {
    Builder b(sbx_policy_builder_new());
    ASSERT_EQ(sbx_policy_builder_allow_group(b.get(), GetParam(), nullptr), SBX_STATUS_OK);
    sbx_status st;
    std::string msg;
    Policy p = Build(std::move(b), &st, &msg);
    ASSERT_EQ(st, SBX_STATUS_OK) << msg;
    size_t len = 0;
    ASSERT_NE(sbx_policy_program(p.get(), &len), nullptr);
    EXPECT_GT(len, 0u);
    EXPECT_LE(len, 4096u);
    EXPECT_NE(std::string(sbx_policy_disassemble(p.get())).find("ALLOW"), std::string::npos)
        << sbx_policy_disassemble(p.get());
}

INSTANTIATE_TEST_SUITE_P(Groups, EveryGroup, ::testing::Range<uint32_t>(SBX_GROUP_EXIT, SBX_GROUP_EXEC + 1));

TEST(PolicyBuilder, GroupsOpenWhatTheySay) {
    Builder b(sbx_policy_builder_new());
    ASSERT_EQ(sbx_policy_builder_allow_group(b.get(), SBX_GROUP_READ, nullptr), SBX_STATUS_OK);
    ASSERT_EQ(sbx_policy_builder_allow_group(b.get(), SBX_GROUP_TCGETS, nullptr), SBX_STATUS_OK);
    sbx_status st;
    Policy p = Build(std::move(b), &st);
    ASSERT_EQ(st, SBX_STATUS_OK);
    EXPECT_EQ(Decide(p.get(), kRead), kRetAllow);
    EXPECT_EQ(Decide(p.get(), kWrite) & 0xffff0000u, kRetTrace);           // violation
    EXPECT_EQ(Decide(p.get(), kIoctl, {0, 0x5401}), kRetAllow);             // TCGETS
    EXPECT_EQ(Decide(p.get(), kIoctl, {0, 0xffffffff00005401ull}), kRetAllow);  // int compare: 32 bits
    EXPECT_EQ(Decide(p.get(), kIoctl, {0, 0x5412}) & 0xffff0000u, kRetTrace);   // TIOCSTI
}

TEST(PolicyBuilder, UnknownGroupLeavesBuilderUsable) {
    Builder b(sbx_policy_builder_new());
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_policy_builder_allow_group(b.get(), 4242, &err), SBX_STATUS_INVALID_ARGUMENT);
    Error owned(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("4242"), std::string::npos);
    sbx_status st;
    Policy p = Build(std::move(b), &st);
    EXPECT_EQ(st, SBX_STATUS_OK);
}

TEST(PolicyBuilder, LoadOciProfile) {
    Builder b(sbx_policy_builder_new());
    const char *profile = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 25,
         "args": [{"index": 1, "value": 21505, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"}]})";
    // Without the report, then (on a second builder) for a process holding CAP_SYS_ADMIN.
    ASSERT_EQ(sbx_policy_builder_load_oci_profile(b.get(), profile, nullptr, nullptr, 0, nullptr, nullptr),
              SBX_STATUS_OK);
    Builder admin(sbx_policy_builder_new());
    const char *caps[] = {"CAP_SYS_ADMIN"};
    char *report = nullptr;
    ASSERT_EQ(sbx_policy_builder_load_oci_profile(admin.get(), profile, "p.json", caps, 1, &report, nullptr),
              SBX_STATUS_OK);
    std::string text = Str(report);
    sbx_string_free(report);
    EXPECT_EQ(text.rfind("4 rules applied, 0 entries not for this process, 1 unknown syscall names skipped", 0), 0u)
        << text;
    EXPECT_NE(text.find("unknown: no_such_call\n"), std::string::npos) << text;

    // A bad profile is refused where it is wrong and changes nothing.
    sbx_error *err = nullptr;
    const char *bad = R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQUAL"}]}]})";
    EXPECT_EQ(sbx_policy_builder_load_oci_profile(b.get(), bad, "bad.json", nullptr, 0, nullptr, &err),
              SBX_STATUS_INVALID_POLICY);
    Error owned(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("bad.json: syscalls[0].args[0].op: unknown op \"SCMP_CMP_EQUAL\""), std::string::npos)
        << sbx_error_message(err);
    const char *nope[] = {"CAP_NOPE"};
    EXPECT_EQ(sbx_policy_builder_load_oci_profile(b.get(), profile, nullptr, nope, 1, nullptr, nullptr),
              SBX_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(sbx_policy_builder_load_oci_profile(b.get(), profile, nullptr, nullptr, 1, nullptr, nullptr),
              SBX_STATUS_NULL_PARAMETER);
    EXPECT_EQ(sbx_policy_builder_load_oci_profile(b.get(), nullptr, nullptr, nullptr, 0, nullptr, nullptr),
              SBX_STATUS_NULL_PARAMETER);
    EXPECT_EQ(sbx_policy_builder_load_oci_profile(nullptr, profile, nullptr, nullptr, 0, nullptr, nullptr),
              SBX_STATUS_NULL_PARAMETER);

    sbx_status st;
    Policy p = Build(std::move(b), &st);
    ASSERT_EQ(st, SBX_STATUS_OK);
    EXPECT_EQ(Decide(p.get(), kRead), kRetAllow);
    EXPECT_EQ(Decide(p.get(), kWrite), kRetErrno | EPERM);
    EXPECT_EQ(Decide(p.get(), kUname), kRetErrno | EPERM);
    EXPECT_EQ(Decide(p.get(), kIoctl, {0, 21505}), kRetErrno | ENOTTY);
    EXPECT_EQ(Decide(p.get(), kIoctl, {0, 21506}), kRetAllow);
    Policy pa = Build(std::move(admin), &st);
    ASSERT_EQ(st, SBX_STATUS_OK);
    EXPECT_EQ(Decide(pa.get(), kUname), kRetAllow);
}

TEST(PolicyBuilder, LoadRulesFromAPolicyFile) {
    Builder b(sbx_policy_builder_new());
    const char *file =
        "version = 1\n"
        "allow = [\"read\"]\n"
        "[[rule]]\n"
        "syscall = \"ioctl\"\n"
        "action = \"errno:EPERM\"\n"
        "args = [{ index = 1, cmp = \"eq\", value = 21505 }]\n";
    ASSERT_EQ(sbx_policy_builder_load_rules(b.get(), file, "ok.toml", nullptr), SBX_STATUS_OK);
    // A bad file is refused where it is wrong and adds nothing (write stays a violation).
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_policy_builder_load_rules(b.get(), "version = 1\nallow = [\"write\", \"nope\"]\n", "bad.toml", &err),
              SBX_STATUS_INVALID_POLICY);
    Error owned(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("bad.toml:2:19"), std::string::npos) << sbx_error_message(err);
    EXPECT_EQ(sbx_policy_builder_load_rules(b.get(), nullptr, nullptr, nullptr), SBX_STATUS_NULL_PARAMETER);
    EXPECT_EQ(sbx_policy_builder_load_rules(nullptr, file, nullptr, nullptr), SBX_STATUS_NULL_PARAMETER);
    sbx_status st;
    Policy p = Build(std::move(b), &st);
    ASSERT_EQ(st, SBX_STATUS_OK);
    EXPECT_EQ(Decide(p.get(), kRead), kRetAllow);
    EXPECT_EQ(Decide(p.get(), kIoctl, {0, 21505}), kRetErrno | EPERM);
    EXPECT_EQ(Decide(p.get(), kWrite) & 0xffff0000u, kRetTrace);
}

TEST(PolicyBuilder, FromString) {
    // A whole policy file: rules and a view, to a builder of its own.
    sbx_policy_builder *raw = nullptr;
    const char *file =
        "version = 1\n"
        "default = \"errno:EPERM\"\n"
        "allow = [\"read\"]\n"
        "[namespaces]\n"
        "hostname = \"box\"\n"
        "[[mount]]\n"
        "path = \"/scratch\"\n"
        "type = \"tmpfs\"\n";
    ASSERT_EQ(sbx_policy_builder_from_string(file, "ok.toml", &raw, nullptr), SBX_STATUS_OK);
    ASSERT_NE(raw, nullptr);
    sbx_status st;
    Policy p = Build(Builder(raw), &st);
    ASSERT_EQ(st, SBX_STATUS_OK);
    EXPECT_EQ(Decide(p.get(), kRead), kRetAllow);
    EXPECT_EQ(Decide(p.get(), kWrite), kRetErrno | EPERM);
    // A bad file names the place and the key, and writes no builder.
    sbx_policy_builder *none = nullptr;
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_policy_builder_from_string("version = 1\n[view]\ndev_pts = 1\n", "bad.toml", &none, &err),
              SBX_STATUS_INVALID_POLICY);
    Error owned(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("bad.toml:3:11"), std::string::npos) << sbx_error_message(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("dev_pts"), std::string::npos) << sbx_error_message(err);
    EXPECT_EQ(none, nullptr);
    EXPECT_EQ(sbx_policy_builder_from_string(nullptr, nullptr, &none, nullptr), SBX_STATUS_NULL_PARAMETER);
    EXPECT_EQ(sbx_policy_builder_from_string(file, nullptr, nullptr, nullptr), SBX_STATUS_NULL_PARAMETER);
    EXPECT_EQ(sbx_policy_builder_from_file("/nonexistent-sbx.toml", &none, nullptr), SBX_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(none, nullptr);
}

TEST(PolicyBuilder, FileLimitsLoadIntoAnExecutor) {
    // A policy file's [limits] go to the executor (limits are not the policy's).
    sbx_executor *ex = nullptr;
    ASSERT_EQ(sbx_executor_new("/bin/true", &ex, nullptr), SBX_STATUS_OK);
    bool found = false;
    EXPECT_EQ(sbx_executor_load_limits(ex, "version = 1\n[limits]\nmemory = 67108864\npids = 32\n", "l.toml",
                                       &found, nullptr),
              SBX_STATUS_OK);
    EXPECT_TRUE(found);
    bool limited = false;
    uint64_t v = 0;
    ASSERT_EQ(sbx_executor_get_limit(ex, SBX_LIMIT_CGROUP_MEMORY, &limited, &v, nullptr), SBX_STATUS_OK);
    EXPECT_TRUE(limited);
    EXPECT_EQ(v, 64u << 20);
    ASSERT_EQ(sbx_executor_get_limit(ex, SBX_LIMIT_CGROUP_PIDS, &limited, &v, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(v, 32u);
    // No table: unchanged, found false; a bad file: an error naming the place, unchanged.
    EXPECT_EQ(sbx_executor_load_limits(ex, "version = 1\n", nullptr, &found, nullptr), SBX_STATUS_OK);
    EXPECT_FALSE(found);
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_executor_load_limits(ex, "version = 1\n[limits]\npids = 1\nbogus = 2\n", "bad.toml", nullptr, &err),
              SBX_STATUS_INVALID_POLICY);
    Error owned(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("bad.toml:4"), std::string::npos) << sbx_error_message(err);
    ASSERT_EQ(sbx_executor_get_limit(ex, SBX_LIMIT_CGROUP_PIDS, &limited, &v, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(v, 32u);
    EXPECT_EQ(sbx_executor_load_limits(nullptr, "version = 1\n", nullptr, nullptr, nullptr), SBX_STATUS_NULL_PARAMETER);
    EXPECT_EQ(sbx_executor_load_limits_file(ex, "/nonexistent-sbx.toml", nullptr, nullptr), SBX_STATUS_INVALID_ARGUMENT);
    sbx_executor_free(ex);
}

TEST(PolicyBuilder, EveryComparison) {
    struct Case {
        uint32_t cmp;
        uint64_t value, mask, arg;
        bool match;
    } cases[] = {
        {SBX_CMP_EQ, 5, 0, 5, true},       {SBX_CMP_EQ, 5, 0, 6, false},
        {SBX_CMP_NE, 5, 0, 6, true},       {SBX_CMP_NE, 5, 0, 5, false},
        {SBX_CMP_LT, 5, 0, 4, true},       {SBX_CMP_LT, 5, 0, 5, false},
        {SBX_CMP_LE, 5, 0, 5, true},       {SBX_CMP_LE, 5, 0, 6, false},
        {SBX_CMP_GT, 5, 0, 6, true},       {SBX_CMP_GT, 5, 0, 5, false},
        {SBX_CMP_GE, 5, 0, 5, true},       {SBX_CMP_GE, 5, 0, 4, false},
        {SBX_CMP_MASKED_EQ, 0x10, 0xf0, 0x1f, true}, {SBX_CMP_MASKED_EQ, 0x10, 0xf0, 0x2f, false},
    };
    for (const Case &c : cases) {
        Builder b(sbx_policy_builder_new());
        sbx_arg a = Cond(1, SBX_WIDTH_W64, c.cmp, c.value, c.mask);
        ASSERT_EQ(sbx_policy_builder_add_rule(b.get(), "uname", &a, 1, SBX_ACTION_ALLOW, 0, nullptr),
                  SBX_STATUS_OK);
        ASSERT_EQ(sbx_policy_builder_add_rule(b.get(), "uname", nullptr, 0, SBX_ACTION_ERRNO, EPERM, nullptr),
                  SBX_STATUS_OK);
        sbx_status st;
        Policy p = Build(std::move(b), &st);
        ASSERT_EQ(st, SBX_STATUS_OK);
        EXPECT_EQ(Decide(p.get(), kUname, {0, c.arg}), c.match ? kRetAllow : (kRetErrno | EPERM))
            << "cmp " << c.cmp << " value " << c.value << " arg " << c.arg;
    }
}

TEST(PolicyBuilder, ActionsByNameAndNumber) {
    Builder b(sbx_policy_builder_new());
    ASSERT_EQ(sbx_policy_builder_add_rule_nr(b.get(), kUname, nullptr, 0, SBX_ACTION_ERRNO, ENOSYS, nullptr),
              SBX_STATUS_OK);
    ASSERT_EQ(sbx_policy_builder_trace_syscall(b.get(), "read", nullptr), SBX_STATUS_OK);
    ASSERT_EQ(sbx_policy_builder_allow_syscall_nr(b.get(), kWrite, nullptr), SBX_STATUS_OK);
    ASSERT_EQ(sbx_policy_builder_violation_syscall(b.get(), "getpid", nullptr), SBX_STATUS_OK);
    sbx_status st;
    Policy p = Build(std::move(b), &st);
    ASSERT_EQ(st, SBX_STATUS_OK);
    EXPECT_EQ(Decide(p.get(), kUname), kRetErrno | ENOSYS);
    EXPECT_EQ(Decide(p.get(), kWrite), kRetAllow);
    // Trace and violation both stop at the monitor, with different data.
    EXPECT_EQ(Decide(p.get(), kRead) & 0xffff0000u, kRetTrace);
    EXPECT_EQ(Decide(p.get(), 39) & 0xffff0000u, kRetTrace);
    EXPECT_NE(Decide(p.get(), kRead), Decide(p.get(), 39));
}

TEST(PolicyBuilder, DefaultActions) {
    struct Case {
        uint32_t action;
        int errno_value;
        uint32_t want;
    } cases[] = {{SBX_ACTION_ALLOW, 0, kRetAllow}, {SBX_ACTION_ERRNO, EACCES, kRetErrno | EACCES}};
    for (const Case &c : cases) {
        Builder b(sbx_policy_builder_new());
        ASSERT_EQ(sbx_policy_builder_set_default_action(b.get(), c.action, c.errno_value, nullptr), SBX_STATUS_OK);
        sbx_status st;
        Policy p = Build(std::move(b), &st);
        ASSERT_EQ(st, SBX_STATUS_OK);
        EXPECT_EQ(Decide(p.get(), kUname), c.want);
        // The mandatory rules still apply: ptrace (101) is never allowed.
        EXPECT_NE(Decide(p.get(), 101), kRetAllow);
    }
}

TEST(PolicyBuilder, ErrorsAtBuildNameTheProblem) {
    struct Case {
        const char *what;
        sbx_status want;
        const char *needle;
    } cases[] = {
        {"unknown", SBX_STATUS_UNKNOWN_SYSCALL, "frobnicate"},
        {"errno0", SBX_STATUS_INVALID_ARGUMENT, "errno"},
        {"index", SBX_STATUS_INVALID_ARGUMENT, "index"},
        {"mandatory", SBX_STATUS_INVALID_POLICY, "ptrace"},
        {"futex", SBX_STATUS_INVALID_ARGUMENT, ""},
    };
    for (const Case &c : cases) {
        Builder b(sbx_policy_builder_new());
        std::string what = c.what;
        sbx_arg a = Cond(7, SBX_WIDTH_W64, SBX_CMP_EQ, 1);
        if (what == "unknown") sbx_policy_builder_allow_syscall(b.get(), "frobnicate", nullptr);
        if (what == "errno0") sbx_policy_builder_errno_syscall(b.get(), "uname", 0, nullptr);
        if (what == "index") sbx_policy_builder_add_rule(b.get(), "uname", &a, 1, SBX_ACTION_ALLOW, 0, nullptr);
        if (what == "mandatory") sbx_policy_builder_allow_syscall(b.get(), "ptrace", nullptr);
        if (what == "futex") sbx_policy_builder_allow_futex_op(b.get(), 0x80 /* FUTEX_PRIVATE_FLAG */, nullptr);
        sbx_status st;
        std::string msg;
        Policy p = Build(std::move(b), &st, &msg);
        EXPECT_EQ(st, c.want) << what << ": " << msg;
        EXPECT_EQ(p, nullptr);
        EXPECT_NE(msg.find(c.needle), std::string::npos) << msg;
    }
}

TEST(PolicyBuilder, ToolDefaultRunsTools) {
    Builder b(sbx_policy_builder_new_tool_default());
    ASSERT_NE(b, nullptr);
    sbx_status st;
    Policy p = Build(std::move(b), &st);
    ASSERT_EQ(st, SBX_STATUS_OK);
    EXPECT_TRUE(sbx_policy_allows_exec(p.get()));
    EXPECT_EQ(Decide(p.get(), kRead), kRetAllow);
}

TEST(Policy, SharedBetweenThreads) {
    Policy p = TestPolicy();
    ASSERT_NE(p, nullptr);
    std::vector<std::thread> threads;
    std::vector<int> ok(8, 0);
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&, t] {
            const sbx_policy *mine = sbx_policy_clone(p.get());
            for (int i = 0; i < 200; i++) {
                ok[t] += Decide(mine, kRead) == kRetAllow;
                ok[t] += sbx_policy_disassemble(mine) != nullptr;
            }
            sbx_policy_free(mine);
        });
    }
    for (auto &th : threads) th.join();
    for (int t = 0; t < 8; t++) EXPECT_EQ(ok[t], 400);
}

}  // namespace

TEST(Policy, AllowSpeculationIsChecked) {
    EXPECT_EQ(sbx_policy_builder_allow_speculation(nullptr, nullptr), SBX_STATUS_NULL_PARAMETER);
    sbx_policy_builder *b = sbx_policy_builder_new();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(sbx_policy_builder_allow_speculation(b, nullptr), SBX_STATUS_OK);
    sbx_policy_builder_free(b);
}
