// sbx_sandbox and sbx_result: synchronous and asynchronous runs, kill from another thread,
// concurrent sandboxes sharing a policy, argument conditions enforced in a real sandbox, and
// bad input.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "sbx_test_cxx.h"

using namespace sbxtest;

namespace {

std::string ReadAll(int fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
}

TEST(Sandbox, RunReportsExitCode) {
    Policy p = TestPolicy();
    Result r = RunToEnd(TestExecutor({"exit", "42"}), p.get());
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_OK);
    int32_t code = 0;
    EXPECT_TRUE(sbx_result_exit_code(r.get(), &code));
    EXPECT_EQ(code, 42);
    EXPECT_EQ(Str(sbx_result_description(r.get())), "OK - exit code 42");
}

// The host uid the sandboxee ran as: the caller's own, or for root an id of libsbx's range.
TEST(Sandbox, ResultNamesTheHostUid) {
    Policy p = TestPolicy();
    Result r = RunToEnd(TestExecutor({"exit", "0"}), p.get());
    ASSERT_NE(r, nullptr);
    uint32_t uid = 7;
    ASSERT_TRUE(sbx_result_host_uid(r.get(), &uid)) << sbx_result_description(r.get());
    if (geteuid() == 0) {
        EXPECT_GE(uid, 0x70000000u);
        EXPECT_LT(uid, 0x70000000u + 65536u);
    } else {
        EXPECT_EQ(uid, geteuid());
    }
    EXPECT_TRUE(sbx_result_host_uid(r.get(), nullptr));
    uid = 7;
    EXPECT_FALSE(sbx_result_host_uid(nullptr, &uid));
    EXPECT_EQ(uid, 7u);
}

// The testee's policy with write allowed to fd 1 only (arg 0 compared on 32 bits, as the kernel
// reads an int), in audit mode when `audit`.
Policy WriteToStdoutOnly(bool audit) {
    Builder b(sbx_policy_builder_new());
    for (uint32_t g : {SBX_GROUP_STATIC_STARTUP, SBX_GROUP_EXIT, SBX_GROUP_READ, SBX_GROUP_GET_RANDOM})
        EXPECT_EQ(sbx_policy_builder_allow_group(b.get(), g, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_errno_syscall(b.get(), "readlink", ENOENT, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_add_file(b.get(), SBX_TESTEE, nullptr), SBX_STATUS_OK);
    sbx_arg fd1{};
    fd1.index = 0;
    fd1.width = SBX_WIDTH_W32;
    fd1.cmp = SBX_CMP_EQ;
    fd1.value = 1;
    EXPECT_EQ(sbx_policy_builder_add_rule(b.get(), "write", &fd1, 1, SBX_ACTION_ALLOW, 0, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_set_audit(b.get(), audit, nullptr), SBX_STATUS_OK);
    sbx_status st;
    Policy p = Build(std::move(b), &st);
    EXPECT_EQ(st, SBX_STATUS_OK);
    return p;
}

TEST(Sandbox, ArgumentConditionOnWrite) {
    Policy p = WriteToStdoutOnly(false);
    ASSERT_NE(p, nullptr);

    int out[2];
    ASSERT_EQ(pipe(out), 0);
    Executor ok = TestExecutor({"write", "1", "fine"});
    ASSERT_EQ(sbx_executor_set_stdio(ok.get(), 1, SBX_STDIO_FD, out[1], nullptr), SBX_STATUS_OK);
    close(out[1]);
    Result r = RunToEnd(std::move(ok), p.get());
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
    EXPECT_EQ(ReadAll(out[0]), "fine");
    close(out[0]);

    r = RunToEnd(TestExecutor({"write", "2", "not allowed"}), p.get());
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_VIOLATION) << sbx_result_description(r.get());
    const sbx_violation *v = sbx_result_violation(r.get());
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(Str(sbx_violation_syscall_name(v)), "write");
    uint64_t args[6];
    ASSERT_TRUE(sbx_violation_args(v, args));
    EXPECT_EQ(args[0], 2u);
    EXPECT_EQ(args[2], 11u);  // strlen("not allowed")
}

// A Docker-style seccomp profile written here in the runtime spec's format: default ERRNO
// (EPERM), the calls of the static testee allowed, personality only for the query, and ptrace
// allowed, which libsbx's mandatory rules override (names another architecture lacks are skipped).
const char *const kOciProfile = R"({
  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
  "syscalls": [
    {"names": ["read", "write", "exit", "exit_group", "brk", "arch_prctl", "set_tid_address",
               "set_robust_list", "rseq", "prlimit64", "mprotect", "mmap", "munmap", "uname",
               "readlink", "readlinkat", "getrandom", "newfstatat", "fstat", "ioctl", "getcwd"],
     "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"}
  ]})";

// Runs the testee with `args` under `p`; its stdout.
std::string TesteeOutput(const sbx_policy *p, std::vector<const char *> args, Result *result) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    Executor e = TestExecutor(std::move(args));
    EXPECT_EQ(sbx_executor_set_stdio(e.get(), 1, SBX_STDIO_FD, out[1], nullptr), SBX_STATUS_OK);
    close(out[1]);
    *result = RunToEnd(std::move(e), p);
    std::string text = ReadAll(out[0]);
    close(out[0]);
    return text;
}

TEST(Sandbox, OciProfileRefusesWhatItSays) {
    Builder b(sbx_policy_builder_new());
    char *report = nullptr;
    ASSERT_EQ(sbx_policy_builder_load_oci_profile(b.get(), kOciProfile, "test.json", nullptr, 0, &report, nullptr),
              SBX_STATUS_OK);
    std::string text = Str(report);
    sbx_string_free(report);
    EXPECT_NE(text.find("override: ptrace: syscalls[2] says SCMP_ACT_ALLOW; libsbx: mandatory-denied"),
              std::string::npos)
        << text;
    ASSERT_EQ(sbx_policy_builder_add_file(b.get(), SBX_TESTEE, nullptr), SBX_STATUS_OK);
    sbx_status st;
    std::string msg;
    Policy p = Build(std::move(b), &st, &msg);
    ASSERT_EQ(st, SBX_STATUS_OK) << msg;

    Result r;
    EXPECT_EQ(TesteeOutput(p.get(), {"personality"}, &r), "personality ok\n");
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
    // ADDR_NO_RANDOMIZE is not a persona the profile lists: EPERM, and the run goes on.
    EXPECT_EQ(TesteeOutput(p.get(), {"personality", "0x0040000"}, &r), "personality failed: errno 1\n");
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
}

// A host listener on 127.0.0.1 answering one connection with `reply`; the port in *port.
std::thread Listener(const char *reply, uint16_t *port, int *listen_fd) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(l, reinterpret_cast<sockaddr *>(&sa), sizeof sa), 0);
    EXPECT_EQ(listen(l, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(l, reinterpret_cast<sockaddr *>(&sa), &len);
    *port = ntohs(sa.sin_port);
    *listen_fd = l;
    return std::thread([l, reply] {
        pollfd p{l, POLLIN, 0};
        if (poll(&p, 1, 20000) != 1) return;
        int c = accept(l, nullptr, nullptr);
        if (c < 0) return;
        if (write(c, reply, strlen(reply)) < 0) {
        }
        close(c);
    });
}

// The testee's policy (read, write) with `allow_connect` to `spec`.
Policy ConnectPolicy(const std::string &spec, uint16_t refuse_errno, std::string *message) {
    Builder b(sbx_policy_builder_new());
    for (uint32_t g : {SBX_GROUP_STATIC_STARTUP, SBX_GROUP_EXIT, SBX_GROUP_READ, SBX_GROUP_WRITE,
                       SBX_GROUP_GET_RANDOM})
        EXPECT_EQ(sbx_policy_builder_allow_group(b.get(), g, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_errno_syscall(b.get(), "readlink", ENOENT, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_add_file(b.get(), SBX_TESTEE, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_allow_connect(b.get(), spec.c_str(), nullptr), SBX_STATUS_OK);
    if (refuse_errno != 0) {
        EXPECT_EQ(sbx_policy_builder_refuse_connect(b.get(), refuse_errno, nullptr), SBX_STATUS_OK);
    }
    sbx_status st;
    return Build(std::move(b), &st, message);
}

TEST(Sandbox, AllowConnectReachesTheHostAndRefusesOthers) {
    EXPECT_EQ(sbx_policy_builder_allow_connect(nullptr, "127.0.0.1:1", nullptr), SBX_STATUS_NULL_PARAMETER);
    uint16_t port = 0, other = 0;
    int lfd = -1, ofd = -1;
    std::thread server = Listener("C-OK\n", &port, &lfd);
    std::thread leak = Listener("LEAKED\n", &other, &ofd);
    std::string message;
    Policy p = ConnectPolicy("127.0.0.1:" + std::to_string(port), 0, &message);
    const char *m = getenv("SBX_TEST_MONITOR");
    if (m != nullptr && std::string(m) == "ptrace") {
        // The proxy lives in the user-notify monitor: the build says so.
        EXPECT_EQ(p, nullptr);
        EXPECT_NE(message.find("ptrace monitor does not proxy"), std::string::npos) << message;
    } else {
        ASSERT_NE(p, nullptr) << message;
        int out[2];
        ASSERT_EQ(pipe(out), 0);
        std::string port_s = std::to_string(port), other_s = std::to_string(other);
        Executor ok = TestExecutor({"connect4", port_s.c_str()});
        ASSERT_EQ(sbx_executor_set_stdio(ok.get(), 1, SBX_STDIO_FD, out[1], nullptr), SBX_STATUS_OK);
        close(out[1]);
        Result r = RunToEnd(std::move(ok), p.get());
        ASSERT_NE(r, nullptr);
        EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
        EXPECT_EQ(ReadAll(out[0]), "C-OK\n");
        close(out[0]);
        EXPECT_EQ(sbx_result_denied_connect_count(r.get()), 0u);

        // Another port: a network violation naming the address.
        r = RunToEnd(TestExecutor({"connect4", other_s.c_str()}), p.get());
        ASSERT_NE(r, nullptr);
        ASSERT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_VIOLATION) << sbx_result_description(r.get());
        EXPECT_EQ(Str(sbx_result_reason_name(r.get())), "VIOLATION_NETWORK");
        ASSERT_EQ(sbx_result_denied_connect_count(r.get()), 1u);
        sbx_denied_connect d{};
        ASSERT_TRUE(sbx_result_denied_connect(r.get(), 0, &d));
        EXPECT_EQ(Str(d.address), "127.0.0.1:" + other_s);
        EXPECT_EQ(Str(d.family), "inet");
        EXPECT_EQ(Str(d.why), "not in the allow-list");
        EXPECT_GT(d.pid, 0);
        EXPECT_FALSE(sbx_result_denied_connect(r.get(), 1, &d));
        EXPECT_FALSE(sbx_result_denied_connect(r.get(), 0, nullptr));
        EXPECT_FALSE(sbx_result_denied_connect(nullptr, 0, &d));
        EXPECT_EQ(sbx_result_denied_connect_count(nullptr), 0u);

        // With refuse_connect the call fails with the errno and the run goes on.
        Policy q = ConnectPolicy("127.0.0.1:" + port_s, ECONNREFUSED, &message);
        ASSERT_NE(q, nullptr) << message;
        ASSERT_EQ(pipe(out), 0);
        Executor refused = TestExecutor({"connect4", other_s.c_str()});
        ASSERT_EQ(sbx_executor_set_stdio(refused.get(), 1, SBX_STDIO_FD, out[1], nullptr), SBX_STATUS_OK);
        close(out[1]);
        r = RunToEnd(std::move(refused), q.get());
        ASSERT_NE(r, nullptr);
        EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
        EXPECT_EQ(ReadAll(out[0]), "connect failed: errno " + std::to_string(ECONNREFUSED));
        close(out[0]);
        EXPECT_EQ(sbx_result_denied_connect_count(r.get()), 1u);
    }
    // A bad spec is named by the build.
    Policy bad = ConnectPolicy("10.0.0.0/33:1", 0, &message);
    EXPECT_EQ(bad, nullptr);
    EXPECT_NE(message.find("10.0.0.0/33:1"), std::string::npos) << message;
    shutdown(lfd, SHUT_RDWR);
    shutdown(ofd, SHUT_RDWR);
    server.join();
    leak.join();
    close(lfd);
    close(ofd);
}

TEST(Sandbox, CgroupMemoryLimitEndsABalloon) {
    // The testee's policy plus what malloc needs; 256 MiB touched under a 64 MiB cgroup limit.
    Builder b(sbx_policy_builder_new());
    for (uint32_t g : {SBX_GROUP_STATIC_STARTUP, SBX_GROUP_EXIT, SBX_GROUP_READ, SBX_GROUP_WRITE,
                       SBX_GROUP_GET_RANDOM, SBX_GROUP_MMAP_WITHOUT_EXEC})
        EXPECT_EQ(sbx_policy_builder_allow_group(b.get(), g, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_allow_syscall(b.get(), "brk", nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_errno_syscall(b.get(), "readlink", ENOENT, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_add_file(b.get(), SBX_TESTEE, nullptr), SBX_STATUS_OK);
    sbx_status st;
    std::string message;
    Policy p = Build(std::move(b), &st, &message);
    ASSERT_NE(p, nullptr) << message;

    Executor ex = TestExecutor({"hog", "256"});
    EXPECT_EQ(sbx_executor_set_limit(ex.get(), SBX_LIMIT_CGROUP_MEMORY, 64 << 20, nullptr), SBX_STATUS_OK);
    bool limited = false;
    uint64_t v = 0;
    ASSERT_EQ(sbx_executor_get_limit(ex.get(), SBX_LIMIT_CGROUP_MEMORY, &limited, &v, nullptr), SBX_STATUS_OK);
    EXPECT_TRUE(limited);
    EXPECT_EQ(v, 64u << 20);
    Sandbox s = NewSandbox(std::move(ex), p.get());
    ASSERT_TRUE(s);
    const sbx_result *raw = nullptr;
    sbx_error *err = nullptr;
    sbx_status run = sbx_sandbox_run(s.get(), &raw, &err);
    Error owned(err);
    if (run == SBX_STATUS_UNSUPPORTED) {
        // No cgroup for this user: refused, naming what to delegate (never run unlimited).
        EXPECT_NE(getuid(), 0u) << sbx_error_message(err);
        EXPECT_NE(std::string(sbx_error_message(err)).find("Delegate=yes"), std::string::npos);
        return;
    }
    ASSERT_EQ(run, SBX_STATUS_OK) << (err != nullptr ? sbx_error_message(err) : "");
    Result r(raw);
    EXPECT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_SIGNALED) << sbx_result_description(r.get());
    EXPECT_EQ(Str(sbx_result_limit_reached(r.get())), "memory");
    EXPECT_EQ(Str(sbx_result_reason_name(r.get())), "MEMORY_LIMIT");
    sbx_cgroup_usage u{};
    ASSERT_TRUE(sbx_result_cgroup_usage(r.get(), &u));
    EXPECT_GE(u.oom_kills, 1u);
    EXPECT_TRUE(u.has_memory_peak);
    EXPECT_LE(u.memory_peak, 64u << 20);
    EXPECT_FALSE(sbx_result_cgroup_usage(r.get(), nullptr));
    EXPECT_FALSE(sbx_result_cgroup_usage(nullptr, &u));
    EXPECT_EQ(sbx_result_limit_reached(nullptr), nullptr);
}

// The default memory ceiling: only where this process can make a memory cgroup (root here),
// at least 256 MiB in whole MiB, and a run under it has a cgroup.
TEST(Sandbox, DefaultMemoryCeiling) {
    uint64_t ceiling = 0;
    bool ok = sbx_default_memory_ceiling(&ceiling);
    if (getuid() != 0) {
        EXPECT_FALSE(ok) << ceiling;
        return;
    }
    ASSERT_TRUE(ok);
    EXPECT_GE(ceiling, 256u << 20);
    EXPECT_EQ(ceiling % (1u << 20), 0u);
    EXPECT_TRUE(sbx_default_memory_ceiling(nullptr));
    Executor ex = TestExecutor({"exit", "0"});
    EXPECT_EQ(sbx_executor_set_limit(ex.get(), SBX_LIMIT_CGROUP_MEMORY, static_cast<int64_t>(ceiling), nullptr),
              SBX_STATUS_OK);
    Policy p = TestPolicy();
    Result r = RunToEnd(std::move(ex), p.get());
    ASSERT_TRUE(r);
    EXPECT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_OK) << sbx_result_description(r.get());
    sbx_cgroup_usage u{};
    EXPECT_TRUE(sbx_result_cgroup_usage(r.get(), &u));
    // With a cgroup v2 group (tests/cgroups.rs checks where there is one): the run's CPU time.
    if (u.has_cpu_usec) {
        EXPECT_GT(u.cpu_usec, 0u);
        EXPECT_LT(u.cpu_usec, 10u * 1000 * 1000);
    }
}

TEST(Sandbox, ResultReportsTheLandlockDomain) {
    Policy p = TestPolicy();
    Result r = RunToEnd(TestExecutor({"exit", "0"}), p.get());
    ASSERT_TRUE(r);
    ASSERT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_OK) << sbx_result_description(r.get());
    bool fence = false, fs_fence = false;
    for (size_t i = 0; i < sbx_result_fence_count(r.get()); i++) {
        fence = fence || Str(sbx_result_fence(r.get(), i)) == "landlock";
        fs_fence = fs_fence || Str(sbx_result_fence(r.get(), i)) == "landlock_filesystem";
    }
    sbx_landlock l{};
    if (!fence) {
        EXPECT_FALSE(sbx_result_landlock(r.get(), &l)) << "a Landlock report without the fence";
        GTEST_SKIP() << "no Landlock in this kernel";
    }
    ASSERT_TRUE(sbx_result_landlock(r.get(), &l));
    EXPECT_TRUE(fs_fence);
    EXPECT_GE(l.abi, 1u);
    std::vector<std::string> rights;
    for (int i = 0; i < 64; i++)
        if (l.fs_rights & (1ull << i)) rights.push_back(Str(sbx_landlock_right_name(1ull << i)));
    for (const char *want : {"execute", "write_file", "make_reg", "make_block"})
        EXPECT_NE(std::find(rights.begin(), rights.end(), want), rights.end()) << want;
    EXPECT_EQ(std::find(rights.begin(), rights.end(), "read_file"), rights.end());
    if (l.abi >= 6) {
        EXPECT_EQ(l.scopes, 3u);
        EXPECT_EQ(Str(sbx_landlock_scope_name(2)), "signal");
    }
    EXPECT_EQ(l.net_rights, 0u) << "no network allow-list, no TCP fence";
    EXPECT_EQ(Str(sbx_landlock_net_right_name(2)), "connect_tcp");
    EXPECT_EQ(sbx_landlock_net_right_name(4), nullptr);
    EXPECT_EQ(sbx_landlock_right_name(3), nullptr);
    EXPECT_EQ(sbx_landlock_scope_name(0), nullptr);
    EXPECT_FALSE(sbx_result_landlock(r.get(), nullptr));
    EXPECT_FALSE(sbx_result_landlock(nullptr, &l));
}

TEST(Sandbox, SharedNetworkNamespaceRunsForRootOnly) {
    EXPECT_EQ(sbx_policy_builder_set_network_namespace(nullptr, SBX_NETNS_SHARED, nullptr), SBX_STATUS_NULL_PARAMETER);
    Builder bad(sbx_policy_builder_new());
    EXPECT_EQ(sbx_policy_builder_set_network_namespace(bad.get(), 7, nullptr), SBX_STATUS_INVALID_ARGUMENT);
    Builder b(sbx_policy_builder_new());
    for (uint32_t g : {SBX_GROUP_STATIC_STARTUP, SBX_GROUP_EXIT, SBX_GROUP_READ, SBX_GROUP_GET_RANDOM})
        EXPECT_EQ(sbx_policy_builder_allow_group(b.get(), g, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_errno_syscall(b.get(), "readlink", ENOENT, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_add_file(b.get(), SBX_TESTEE, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_set_network_namespace(b.get(), SBX_NETNS_SHARED, nullptr), SBX_STATUS_OK);
    sbx_status st;
    std::string message;
    Policy p = Build(std::move(b), &st, &message);
    ASSERT_NE(p, nullptr) << message;
    Sandbox s = NewSandbox(TestExecutor({"exit", "7"}), p.get());
    ASSERT_TRUE(s);
    const sbx_result *raw = nullptr;
    sbx_status run = sbx_sandbox_run(s.get(), &raw, nullptr);
    if (getuid() != 0) {
        EXPECT_EQ(run, SBX_STATUS_UNSUPPORTED);
        return;
    }
    ASSERT_EQ(run, SBX_STATUS_OK);
    Result r(raw);
    int32_t code = 0;
    EXPECT_TRUE(sbx_result_exit_code(r.get(), &code)) << sbx_result_description(r.get());
    EXPECT_EQ(code, 7);
}

TEST(Sandbox, AuditRunRecordsTheValuesALearnedPolicyNeeds) {
    // prctl is not in the policy: audited, its option values (3, 16) are kept for learning.
    Policy p = WriteToStdoutOnly(true);
    ASSERT_NE(p, nullptr);
    Result r = RunToEnd(TestExecutor({"prctl"}), p.get());
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
    size_t n = sbx_result_audited_count(r.get());
    size_t prctl = n;
    for (size_t i = 0; i < n; i++) {
        sbx_audited_call c{};
        ASSERT_TRUE(sbx_result_audited_call(r.get(), i, &c));
        if (Str(c.name) == "prctl") prctl = i;
    }
    ASSERT_LT(prctl, n);
    uint8_t arg = 9;
    uint64_t values[4] = {0, 0, 0, 0};
    size_t count = 0;
    bool more = true;
    ASSERT_TRUE(sbx_result_audited_seen(r.get(), prctl, &arg, values, 4, &count, &more));
    EXPECT_EQ(arg, 0);
    EXPECT_EQ(count, 2u);
    EXPECT_FALSE(more);
    EXPECT_EQ(values[0], 3u);
    EXPECT_EQ(values[1], 16u);
    // Too little room: the whole count, the first value only.
    uint64_t one[1] = {0};
    ASSERT_TRUE(sbx_result_audited_seen(r.get(), prctl, &arg, one, 1, &count, &more));
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(one[0], 3u);
    // Asking for the count alone.
    ASSERT_TRUE(sbx_result_audited_seen(r.get(), prctl, &arg, nullptr, 0, &count, &more));
    EXPECT_EQ(count, 2u);
    EXPECT_FALSE(sbx_result_audited_seen(r.get(), prctl, nullptr, values, 4, &count, &more));
    EXPECT_FALSE(sbx_result_audited_seen(r.get(), prctl, &arg, nullptr, 4, &count, &more));
    EXPECT_FALSE(sbx_result_audited_seen(r.get(), n, &arg, values, 4, &count, &more));
    EXPECT_FALSE(sbx_result_audited_seen(nullptr, 0, &arg, values, 4, &count, &more));
}

TEST(Sandbox, AuditRunListsRefusedCalls) {
    // The policy above in audit mode: a write to fd 2 runs and is listed once with its count;
    // an out-of-range index or a NULL output is refused.
    EXPECT_EQ(sbx_policy_builder_set_audit(nullptr, true, nullptr), SBX_STATUS_NULL_PARAMETER);
    Policy p = WriteToStdoutOnly(true);
    ASSERT_NE(p, nullptr);

    int err[2];
    ASSERT_EQ(pipe(err), 0);
    Executor ex = TestExecutor({"write", "2", "audited"});
    ASSERT_EQ(sbx_executor_set_stdio(ex.get(), 2, SBX_STDIO_FD, err[1], nullptr), SBX_STATUS_OK);
    close(err[1]);
    Result r = RunToEnd(std::move(ex), p.get());
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
    EXPECT_EQ(ReadAll(err[0]), "audited");
    close(err[0]);
    EXPECT_TRUE(sbx_result_is_audit(r.get()));
    size_t n = sbx_result_audited_count(r.get());
    ASSERT_GE(n, 1u);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        sbx_audited_call c{};
        ASSERT_TRUE(sbx_result_audited_call(r.get(), i, &c));
        ASSERT_NE(c.name, nullptr);
        ASSERT_NE(c.arch, nullptr);
        if (Str(c.name) == "write") {
            found = true;
            EXPECT_EQ(c.args[0], 2u);
            EXPECT_EQ(c.args[2], 7u);  // strlen("audited")
            EXPECT_EQ(c.count, 1u);
            EXPECT_GT(c.pid, 0);
        }
    }
    EXPECT_TRUE(found);
    sbx_audited_call c{};
    EXPECT_FALSE(sbx_result_audited_call(r.get(), n, &c));
    EXPECT_FALSE(sbx_result_audited_call(r.get(), 0, nullptr));
    EXPECT_FALSE(sbx_result_audited_call(nullptr, 0, &c));
    EXPECT_FALSE(sbx_result_is_audit(nullptr));
    EXPECT_EQ(sbx_result_audited_count(nullptr), 0u);

    Policy plain = TestPolicy();
    Result r2 = RunToEnd(TestExecutor({"exit", "0"}), plain.get());
    ASSERT_NE(r2, nullptr);
    EXPECT_FALSE(sbx_result_is_audit(r2.get()));
    EXPECT_EQ(sbx_result_audited_count(r2.get()), 0u);
}

TEST(Sandbox, KillFromAnotherThreadDuringWait) {
    Policy p = TestPolicy();
    Sandbox s = NewSandbox(TestExecutor({"spin"}), p.get());
    sbx_status killed = SBX_STATUS_INVALID_STATE;
    Result r = KillFromAnotherThread(s, 100, &killed, [](const sbx_sandbox *shared) {
        EXPECT_GT(sbx_sandbox_pid(shared), 0);
        EXPECT_FALSE(sbx_sandbox_is_finished(shared));
    });
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(killed, SBX_STATUS_OK);
    EXPECT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_EXTERNAL_KILL);
    int32_t sig = 0;
    EXPECT_TRUE(sbx_result_signal(r.get(), &sig));
    EXPECT_EQ(sig, SIGKILL);
    EXPECT_EQ(Str(sbx_result_status_name(r.get())), "EXTERNAL_KILL");
}

TEST(Sandbox, WaitTimeoutThenResult) {
    Policy p = TestPolicy();
    Sandbox s = NewSandbox(TestExecutor({"sleep", "300"}), p.get());
    ASSERT_EQ(sbx_sandbox_start(s.get(), nullptr), SBX_STATUS_OK);
    const sbx_result *raw = nullptr;
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_sandbox_wait_timeout(s.get(), 20, &raw, &err), SBX_STATUS_WAIT_TIMEOUT);
    EXPECT_EQ(raw, nullptr);
    Error owned(err);
    EXPECT_EQ(sbx_error_code(err), SBX_STATUS_WAIT_TIMEOUT);
    EXPECT_EQ(sbx_sandbox_wait_timeout(s.get(), 10000, &raw, nullptr), SBX_STATUS_OK);
    Result r(raw);
    EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
    EXPECT_GE(sbx_result_wall_time_ns(r.get()), 300000000u);
}

TEST(Sandbox, WallTimeLimit) {
    Policy p = TestPolicy();
    Executor e = TestExecutor({"spin"});
    ASSERT_EQ(sbx_executor_set_limit(e.get(), SBX_LIMIT_WALL_TIME_MS, 150, nullptr), SBX_STATUS_OK);
    Result r = RunToEnd(std::move(e), p.get());
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_TIMEOUT);
    EXPECT_EQ(sbx_result_reason_name(r.get()), nullptr);
}

TEST(Sandbox, ConcurrentSandboxesShareOnePolicy) {
    Policy p = TestPolicy();
    constexpr int kThreads = 6, kRuns = 3;
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRuns; i++) {
                std::string code = std::to_string(t * 10 + i);
                Result r = RunToEnd(TestExecutor({"exit", code.c_str()}), p.get());
                int32_t got = -1;
                if (r && sbx_result_exit_code(r.get(), &got) && got == t * 10 + i) good++;
            }
        });
    }
    for (auto &th : threads) th.join();
    EXPECT_EQ(good.load(), kThreads * kRuns);
}

TEST(Sandbox, ResultOutlivesSandboxAndPolicy) {
    Result r;
    {
        Policy p = TestPolicy();
        r = RunToEnd(TestExecutor({"violation"}), p.get());
    }
    ASSERT_NE(r, nullptr);
    const sbx_violation *v = sbx_result_violation(r.get());
    ASSERT_NE(v, nullptr);
    // Read the result from several threads at once.
    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&] {
            if (Str(sbx_violation_syscall_name(v)) == "getpriority" && Str(sbx_violation_arch(v)) == "X86-64")
                good++;
        });
    }
    for (auto &th : threads) th.join();
    EXPECT_EQ(good.load(), 4);
}

TEST(Sandbox, PolicyFreedWhileRunning) {
    Policy p = TestPolicy();
    Sandbox s = NewSandbox(TestExecutor({"sleep", "50"}), p.get());
    p.reset();  // the sandbox holds its own reference
    const sbx_result *raw = nullptr;
    ASSERT_EQ(sbx_sandbox_run(s.get(), &raw, nullptr), SBX_STATUS_OK);
    Result r(raw);
    EXPECT_TRUE(sbx_result_success(r.get()));
}

TEST(Sandbox, DoubleStartAndRun) {
    Policy p = TestPolicy();
    Sandbox s = NewSandbox(TestExecutor({"exit", "0"}), p.get());
    const sbx_result *raw = nullptr;
    ASSERT_EQ(sbx_sandbox_run(s.get(), &raw, nullptr), SBX_STATUS_OK);
    Result r(raw);
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_sandbox_start(s.get(), &err), SBX_STATUS_INVALID_STATE);
    Error owned(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("already started"), std::string::npos) << sbx_error_message(err);
    EXPECT_EQ(sbx_sandbox_run(s.get(), &raw, nullptr), SBX_STATUS_INVALID_STATE);
}

TEST(Sandbox, DupFailureIsAnOsError) {
    // With RLIMIT_NOFILE at the current highest fd, duplicating fails with EMFILE.
    struct rlimit old;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    Executor e = TestExecutor({"exit", "0"});
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    struct rlimit tight = old;
    tight.rlim_cur = static_cast<rlim_t>(fd);  // no descriptor may be >= fd any more
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    // Fill the lower descriptors so that nothing below `fd` is free either.
    std::vector<int> filler;
    for (int i = 0; i < fd; i++) {
        int x = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (x < 0) break;
        filler.push_back(x);
    }
    sbx_error *err = nullptr;
    sbx_status st = sbx_executor_map_fd(e.get(), fd, 3, &err);
    setrlimit(RLIMIT_NOFILE, &old);
    for (int x : filler) close(x);
    close(fd);
    Error owned(err);
    EXPECT_EQ(st, SBX_STATUS_OS_ERROR);
    EXPECT_EQ(sbx_error_errno(err), EMFILE);
    EXPECT_NE(Str(sbx_error_message(err)).find("F_DUPFD_CLOEXEC"), std::string::npos) << sbx_error_message(err);
}

TEST(Sandbox, BadInputIsRejectedBeforeAnyProcess) {
    Policy p = TestPolicy();
    // A relative program path that does not exist is a setup error in the result, not a crash.
    Executor e;
    sbx_executor *raw = nullptr;
    ASSERT_EQ(sbx_executor_new("no/such/program", &raw, nullptr), SBX_STATUS_OK);
    e.reset(raw);
    Result r = RunToEnd(std::move(e), p.get());
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_SETUP_ERROR) << sbx_result_description(r.get());
    // A closed descriptor cannot be mapped.
    Executor e2 = TestExecutor({"exit", "0"});
    int fd = open("/dev/null", O_RDONLY);
    close(fd);
    EXPECT_EQ(sbx_executor_map_fd(e2.get(), fd, 3, nullptr), SBX_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(sbx_executor_set_stdio(e2.get(), 0, SBX_STDIO_FD, fd, nullptr), SBX_STATUS_INVALID_ARGUMENT);
    // Bad environment entries fail at start.
    const char *envp[] = {"NOEQUALS"};
    ASSERT_EQ(sbx_executor_set_envp(e2.get(), envp, 1, nullptr), SBX_STATUS_OK);
    Sandbox s = NewSandbox(std::move(e2), p.get());
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_sandbox_start(s.get(), &err), SBX_STATUS_INVALID_ARGUMENT);
    Error owned(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("NOEQUALS"), std::string::npos);
}

}  // namespace
