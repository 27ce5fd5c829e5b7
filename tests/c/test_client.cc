// Sandbox-aware sandboxees from C: sbx_executor_set_sandbox_before_exec(false),
// sbx_executor_enable_comms, sbx_executor_map_fd_named and sbx_sandbox_take_comms on the host;
// client_testee.c (linked statically with libsbx.a) on the other side, calling
// sbx_comms_client, sbx_client_mapped_fd and sbx_client_sandbox_me_here.
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

#include "sbx_test_cxx.h"

#ifndef SBX_CLIENT_TESTEE
#error "SBX_CLIENT_TESTEE must name the sandbox-aware test sandboxee"
#endif

using namespace sbxtest;

namespace {

struct FreeComms {
    void operator()(sbx_comms *c) const { sbx_comms_free(c); }
};
using Comms = std::unique_ptr<sbx_comms, FreeComms>;

// What client_testee needs once sandboxed: a static program's start-up, read, write, exit,
// close, pipes, its ids (sbx_comms_send_creds), and the comms channel (sendmsg/recvmsg, and the
// descriptor checks of sbx_comms_client for a program sandboxed before exec). personality is
// not allowed.
Policy ClientPolicy() {
    sbx_policy_builder *b = sbx_policy_builder_new();
    for (uint32_t g : {SBX_GROUP_STATIC_STARTUP, SBX_GROUP_EXIT, SBX_GROUP_READ, SBX_GROUP_WRITE,
                       SBX_GROUP_GET_RANDOM, SBX_GROUP_PIPE, SBX_GROUP_GET_IDS, SBX_GROUP_GET_PIDS})
        sbx_policy_builder_allow_group(b, g, nullptr);
    const char *calls[] = {"close", "sendmsg", "recvmsg", "fcntl", "getsockopt"};
    sbx_policy_builder_allow_syscalls(b, calls, sizeof calls / sizeof calls[0], nullptr);
    sbx_policy_builder_errno_syscall(b, "readlink", ENOENT, nullptr);
    sbx_policy_builder_add_file(b, SBX_CLIENT_TESTEE, nullptr);
    sbx_status st;
    std::string message;
    Policy p = Build(Builder(b), &st, &message);
    EXPECT_EQ(st, SBX_STATUS_OK) << message;
    return p;
}

Executor ClientExecutor(const char *mode, bool before_exec) {
    sbx_executor *e = nullptr;
    EXPECT_EQ(sbx_executor_new(SBX_CLIENT_TESTEE, &e, nullptr), SBX_STATUS_OK);
    const char *argv[] = {"client_testee", mode};
    EXPECT_EQ(sbx_executor_set_argv(e, argv, 2, nullptr), SBX_STATUS_OK);
    if (before_exec) {
        EXPECT_EQ(sbx_executor_enable_comms(e, nullptr), SBX_STATUS_OK);
    } else {
        EXPECT_EQ(sbx_executor_set_sandbox_before_exec(e, false, nullptr), SBX_STATUS_OK);
    }
    EXPECT_EQ(sbx_executor_set_limit(e, SBX_LIMIT_WALL_TIME_MS, 20000, nullptr), SBX_STATUS_OK);
    return Executor(e);
}

Comms TakeComms(sbx_sandbox *s) {
    sbx_comms *c = nullptr;
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_sandbox_take_comms(s, &c, &err), SBX_STATUS_OK) << (err ? sbx_error_message(err) : "");
    sbx_error_free(err);
    return Comms(c);
}

Result Wait(sbx_sandbox *s) {
    const sbx_result *r = nullptr;
    EXPECT_EQ(sbx_sandbox_wait(s, &r, nullptr), SBX_STATUS_OK);
    return Result(r);
}

TEST(Client, EarlierThreadIsCaughtAfterSandboxMeHere) {
    Policy p = ClientPolicy();
    Sandbox s = NewSandbox(ClientExecutor("tsync", false), p.get());
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(sbx_sandbox_start(s.get(), nullptr), SBX_STATUS_OK);
    Result r = Wait(s.get());
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_VIOLATION) << sbx_result_description(r.get());
    const sbx_violation *v = sbx_result_violation(r.get());
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(Str(sbx_violation_syscall_name(v)), "personality");
    uint64_t args[6] = {0};
    ASSERT_TRUE(sbx_violation_args(v, args));
    EXPECT_EQ(args[0], 0xffffffffu);
    // The call came from the thread started before sandboxing, not the main thread.
    EXPECT_NE(sbx_violation_pid(v), sbx_result_pid(r.get()));
}

TEST(Client, NamedFdCommsAndAnFdFromTheSandboxee) {
    Policy p = ClientPolicy();
    Executor e = ClientExecutor("comms", false);
    int in[2];
    ASSERT_EQ(pipe(in), 0);
    ASSERT_EQ(write(in[1], "from the host", 13), 13);
    close(in[1]);
    ASSERT_EQ(sbx_executor_map_fd_named(e.get(), in[0], 7, "input", nullptr), SBX_STATUS_OK);
    close(in[0]);
    Sandbox s = NewSandbox(std::move(e), p.get());
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(sbx_sandbox_start(s.get(), nullptr), SBX_STATUS_OK);
    Comms c = TakeComms(s.get());
    ASSERT_NE(c, nullptr);
    sbx_comms *again = nullptr;
    EXPECT_EQ(sbx_sandbox_take_comms(s.get(), &again, nullptr), SBX_STATUS_INVALID_STATE);  // once

    ASSERT_EQ(sbx_comms_send_string(c.get(), "question", nullptr), SBX_STATUS_OK);
    char *answer = nullptr;
    ASSERT_EQ(sbx_comms_recv_string(c.get(), &answer, nullptr, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(Str(answer), "answer: from the host");
    sbx_string_free(answer);
    int fd = -1;
    ASSERT_EQ(sbx_comms_recv_fd(c.get(), &fd, nullptr), SBX_STATUS_OK);
    std::string inside;
    char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) inside.append(buf, static_cast<size_t>(n));
    close(fd);
    EXPECT_EQ(inside, "written inside");
    uint32_t v = 0;
    ASSERT_EQ(sbx_comms_send_uint32(c.get(), 41, nullptr), SBX_STATUS_OK);
    ASSERT_EQ(sbx_comms_recv_uint32(c.get(), &v, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(v, 42u);
    // The kernel's word for who is on the other end: the sandboxee (pid as seen from here).
    sbx_creds creds{};
    sbx_error *err = nullptr;
    ASSERT_EQ(sbx_comms_recv_creds(c.get(), &creds, &err), SBX_STATUS_OK) << sbx_error_message(err);
    EXPECT_EQ(creds.pid, sbx_sandbox_pid(s.get()));

    Result r = Wait(s.get());
    ASSERT_NE(r, nullptr);
    int32_t code = -1;
    EXPECT_TRUE(sbx_result_exit_code(r.get(), &code)) << sbx_result_description(r.get());
    EXPECT_EQ(code, 0);
    // The sandboxee is gone: its end is closed.
    EXPECT_EQ(sbx_comms_recv_uint32(c.get(), &v, nullptr), SBX_STATUS_COMMS);
}

TEST(Client, CommsWithThePolicyAppliedBeforeExec) {
    Policy p = ClientPolicy();
    Sandbox s = NewSandbox(ClientExecutor("plain", true), p.get());
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(sbx_sandbox_start(s.get(), nullptr), SBX_STATUS_OK);
    Comms c = TakeComms(s.get());
    char *hello = nullptr;
    ASSERT_EQ(sbx_comms_recv_string(c.get(), &hello, nullptr, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(Str(hello), "hello from a sandboxee");
    sbx_string_free(hello);
    Result r = Wait(s.get());
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(sbx_result_success(r.get())) << sbx_result_description(r.get());
}

TEST(Client, SandboxMeHereFailsClosed) {
    Policy p = ClientPolicy();
    Sandbox s = NewSandbox(ClientExecutor("twice", false), p.get());
    ASSERT_EQ(sbx_sandbox_start(s.get(), nullptr), SBX_STATUS_OK);
    Comms c = TakeComms(s.get());
    // Not a policy: the second sbx_client_sandbox_me_here must end the process.
    ASSERT_EQ(sbx_comms_send_string(c.get(), "not a policy", nullptr), SBX_STATUS_OK);
    Result r = Wait(s.get());
    ASSERT_NE(r, nullptr);
    int32_t code = -1;
    EXPECT_TRUE(sbx_result_exit_code(r.get(), &code)) << sbx_result_description(r.get());
    EXPECT_EQ(code, 127);
}

TEST(Client, TrySandboxMeHereReportsTheFailure) {
    Policy p = ClientPolicy();
    Sandbox s = NewSandbox(ClientExecutor("try_twice", false), p.get());
    ASSERT_EQ(sbx_sandbox_start(s.get(), nullptr), SBX_STATUS_OK);
    Comms c = TakeComms(s.get());
    ASSERT_EQ(sbx_comms_send_string(c.get(), "not a policy", nullptr), SBX_STATUS_OK);
    Result r = Wait(s.get());
    ASSERT_NE(r, nullptr);
    int32_t code = -1;
    EXPECT_TRUE(sbx_result_exit_code(r.get(), &code)) << sbx_result_description(r.get());
    EXPECT_EQ(code, static_cast<int32_t>(SBX_STATUS_INVALID_POLICY));
}

TEST(Client, BadExecutorOptionsFailAtStart) {
    Policy p = ClientPolicy();
    // A malformed fd name, and fd 1023 mapped while comms needs it.
    Executor e = ClientExecutor("comms", false);
    ASSERT_EQ(sbx_executor_map_fd_named(e.get(), 0, 7, "bad name!", nullptr), SBX_STATUS_OK);
    Sandbox s = NewSandbox(std::move(e), p.get());
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_sandbox_start(s.get(), &err), SBX_STATUS_INVALID_ARGUMENT);
    Error owned(err);
    EXPECT_NE(Str(sbx_error_message(err)).find("bad name!"), std::string::npos) << sbx_error_message(err);

    e = ClientExecutor("comms", true);
    ASSERT_EQ(sbx_executor_map_fd(e.get(), 0, 1023, nullptr), SBX_STATUS_OK);
    s = NewSandbox(std::move(e), p.get());
    EXPECT_EQ(sbx_sandbox_start(s.get(), nullptr), SBX_STATUS_INVALID_ARGUMENT);
}

}  // namespace
