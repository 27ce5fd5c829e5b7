// Stack traces on violation through the C API: the testee's forbidden getpriority (a syscall()
// call in main) yields frames naming syscall and main; NULL and out-of-range arguments are
// refused; a policy without stack traces gives none. sbx_sandbox_kill: the main thread's stack.
#include <gtest/gtest.h>

#include <string>

#include "sbx_test_cxx.h"

using namespace sbxtest;

namespace {

// The testee's policy with stack traces `traces`, under the test monitor or `monitor` (>= 0).
Policy ViolationPolicy(bool traces, int monitor = -1) {
    Builder b(sbx_test_builder());
    EXPECT_NE(b, nullptr);
    EXPECT_EQ(sbx_policy_builder_set_stack_traces(b.get(), traces, nullptr), SBX_STATUS_OK);
    if (monitor >= 0) {
        EXPECT_EQ(sbx_policy_builder_set_monitor(b.get(), static_cast<uint32_t>(monitor), nullptr),
                  SBX_STATUS_OK);
    }
    sbx_status st = SBX_STATUS_OK;
    Policy p = Build(std::move(b), &st, nullptr, monitor < 0);
    EXPECT_EQ(st, SBX_STATUS_OK);
    return p;
}

// Under the test monitor (auto: ptrace, with stack traces) and under user-notify (which attaches
// to the violating thread on demand).
class StackTraceMonitor : public ::testing::TestWithParam<int> {};

TEST_P(StackTraceMonitor, ViolationNamesTheFrames) {
    Policy p = ViolationPolicy(true, GetParam());
    ASSERT_NE(p, nullptr);
    Result r = RunToEnd(TestExecutor({"violation"}), p.get());
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_VIOLATION);
    int32_t thread = 0;
    ASSERT_TRUE(sbx_result_stack_trace(r.get(), &thread));
    EXPECT_EQ(thread, sbx_violation_pid(sbx_result_violation(r.get())));
    EXPECT_TRUE(sbx_result_stack_trace(r.get(), nullptr));
    size_t n = sbx_result_stack_frame_count(r.get());
    ASSERT_GE(n, 2u) << Str(sbx_result_stack_trace_error(r.get()));
    bool main_seen = false;
    for (size_t i = 0; i < n; i++) {
        sbx_stack_frame f{};
        ASSERT_TRUE(sbx_result_stack_frame(r.get(), i, &f));
        ASSERT_NE(f.found_by, nullptr);
        if (i == 0) {
            EXPECT_EQ(Str(f.found_by), "registers");
            EXPECT_EQ(f.pc, sbx_violation_ip(sbx_result_violation(r.get())));
            EXPECT_EQ(Str(f.symbol), "syscall");
        }
        if (Str(f.symbol) == "main") {
            main_seen = true;
            EXPECT_EQ(Str(f.module), SBX_TESTEE);
        }
    }
    EXPECT_TRUE(main_seen);
    EXPECT_FALSE(sbx_result_stack_trace_truncated(r.get()));
    sbx_stack_frame f{};
    EXPECT_FALSE(sbx_result_stack_frame(r.get(), n, &f));
    EXPECT_FALSE(sbx_result_stack_frame(r.get(), 0, nullptr));
    EXPECT_FALSE(sbx_result_stack_frame(nullptr, 0, &f));
}

TEST_P(StackTraceMonitor, KillTracesTheMainThread) {
    Policy p = ViolationPolicy(true, GetParam());
    ASSERT_NE(p, nullptr);
    Sandbox s = NewSandbox(TestExecutor({"spin"}), p.get());
    sbx_status killed = SBX_STATUS_INVALID_STATE;
    Result r = KillFromAnotherThread(s, 200, &killed);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(killed, SBX_STATUS_OK);
    ASSERT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_EXTERNAL_KILL);
    int32_t thread = 0;
    ASSERT_TRUE(sbx_result_stack_trace(r.get(), &thread));
    EXPECT_EQ(thread, sbx_result_pid(r.get()));
    size_t n = sbx_result_stack_frame_count(r.get());
    bool main_seen = false;
    for (size_t i = 0; i < n; i++) {
        sbx_stack_frame f{};
        ASSERT_TRUE(sbx_result_stack_frame(r.get(), i, &f));
        main_seen = main_seen || (Str(f.symbol) == "main" && Str(f.module) == SBX_TESTEE);
    }
    // The testee spins in nanosleep called from main (through an inlined helper).
    EXPECT_TRUE(main_seen) << n << " frames; " << Str(sbx_result_stack_trace_error(r.get()));
}

INSTANTIATE_TEST_SUITE_P(Monitors, StackTraceMonitor,
                         ::testing::Values(-1, static_cast<int>(SBX_MONITOR_UNOTIFY)));

TEST(StackTrace, NoneWhenOffAndForNull) {
    EXPECT_EQ(sbx_policy_builder_set_stack_traces(nullptr, true, nullptr),
              SBX_STATUS_NULL_PARAMETER);
    Policy p = ViolationPolicy(false);
    ASSERT_NE(p, nullptr);
    Result r = RunToEnd(TestExecutor({"violation"}), p.get());
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(sbx_result_status(r.get()), SBX_RUN_STATUS_VIOLATION);
    EXPECT_FALSE(sbx_result_stack_trace(r.get(), nullptr));
    EXPECT_EQ(sbx_result_stack_frame_count(r.get()), 0u);
    EXPECT_EQ(sbx_result_stack_trace_error(r.get()), nullptr);
    EXPECT_FALSE(sbx_result_stack_trace(nullptr, nullptr));
    EXPECT_EQ(sbx_result_stack_frame_count(nullptr), 0u);
    EXPECT_EQ(sbx_result_stack_trace_error(nullptr), nullptr);
    EXPECT_FALSE(sbx_result_stack_trace_truncated(nullptr));
}

}  // namespace
