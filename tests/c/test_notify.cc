// sbx_notify_callbacks through real sandboxes: started (and its veto), trace (allow, errno, deny,
// and answers that are not understood) on `personality`, violation, signal, finished once,
// destroy once after everything else, on the monitor thread with the caller's user_data.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sbx_test_cxx.h"

using namespace sbxtest;

namespace {

// What the callbacks saw. They run on the monitor thread, so everything goes through `mu`.
struct Recorder {
    std::mutex mu;
    // Answers.
    bool veto = false;
    uint32_t answer = SBX_TRACE_ACTION_ALLOW;
    int32_t answer_errno = 0;
    // Observations, in order.
    std::vector<std::string> events;
    std::vector<int32_t> started_pids;
    std::vector<std::string> traced;
    std::vector<uint64_t> traced_arg0;
    std::vector<std::string> violations;
    std::vector<int32_t> signals;
    std::vector<sbx_run_status> finished;
    std::string finished_description;
    int destroyed = 0;
    bool off_thread = true;
    std::thread::id caller = std::this_thread::get_id();

    void Note(const std::string &event) {
        events.push_back(event);
        if (std::this_thread::get_id() == caller) off_thread = false;
    }
};

Recorder *Rec(void *ud) { return static_cast<Recorder *>(ud); }

extern "C" bool OnStarted(void *ud, int32_t pid) {
    Recorder *r = Rec(ud);
    std::lock_guard<std::mutex> lock(r->mu);
    r->Note("started");
    r->started_pids.push_back(pid);
    return !r->veto;
}

extern "C" uint32_t OnTrace(void *ud, const sbx_syscall *call, int32_t *errno_out) {
    Recorder *r = Rec(ud);
    std::lock_guard<std::mutex> lock(r->mu);
    r->Note("trace");
    r->traced.push_back(Str(sbx_violation_syscall_name(call)));
    uint64_t args[6] = {0};
    sbx_violation_args(call, args);
    r->traced_arg0.push_back(args[0]);
    *errno_out = r->answer_errno;
    return r->answer;
}

extern "C" void OnViolation(void *ud, const sbx_syscall *call) {
    Recorder *r = Rec(ud);
    std::lock_guard<std::mutex> lock(r->mu);
    r->Note("violation");
    r->violations.push_back(Str(sbx_violation_syscall_name(call)));
}

extern "C" void OnSignal(void *ud, int32_t pid, int32_t sig) {
    Recorder *r = Rec(ud);
    std::lock_guard<std::mutex> lock(r->mu);
    r->Note("signal");
    (void)pid;
    r->signals.push_back(sig);
}

extern "C" void OnFinished(void *ud, const sbx_result *result) {
    Recorder *r = Rec(ud);
    std::lock_guard<std::mutex> lock(r->mu);
    r->Note("finished");
    r->finished.push_back(sbx_result_status(result));
    r->finished_description = Str(sbx_result_description(result));
}

extern "C" void OnDestroy(void *ud) {
    Recorder *r = Rec(ud);
    std::lock_guard<std::mutex> lock(r->mu);
    r->Note("destroy");
    r->destroyed++;
}

sbx_notify_callbacks AllCallbacks(Recorder *r) {
    sbx_notify_callbacks cb{};
    cb.started = OnStarted;
    cb.trace = OnTrace;
    cb.violation = OnViolation;
    cb.signal = OnSignal;
    cb.finished = OnFinished;
    cb.destroy = OnDestroy;
    cb.user_data = r;
    return cb;
}

// The test policy with `personality` handed to the trace callback.
Policy TracingPolicy(uint32_t monitor = SBX_MONITOR_AUTO) {
    sbx_policy_builder *b = sbx_policy_builder_new();
    sbx_policy_builder_set_monitor(b, monitor, nullptr);
    for (uint32_t g : {SBX_GROUP_STATIC_STARTUP, SBX_GROUP_EXIT, SBX_GROUP_READ, SBX_GROUP_WRITE,
                       SBX_GROUP_SLEEP, SBX_GROUP_GET_RANDOM})
        sbx_policy_builder_allow_group(b, g, nullptr);
    sbx_policy_builder_errno_syscall(b, "readlink", ENOENT, nullptr);
    sbx_policy_builder_trace_syscall(b, "personality", nullptr);
    sbx_policy_builder_add_file(b, SBX_TESTEE, nullptr);
    sbx_status st;
    std::string message;
    Policy p = Build(Builder(b), &st, &message, monitor == SBX_MONITOR_AUTO);
    EXPECT_EQ(st, SBX_STATUS_OK) << message;
    return p;
}

struct Outcome {
    Result result;
    std::string out;
};

// Runs the test sandboxee with `args` under `p` with callbacks `cb`; captures its stdout.
Outcome RunWith(std::vector<const char *> args, const sbx_policy *p, const sbx_notify_callbacks &cb) {
    Outcome run;
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    Executor e = TestExecutor(std::move(args));
    EXPECT_EQ(sbx_executor_set_stdio(e.get(), 1, SBX_STDIO_FD, out[1], nullptr), SBX_STATUS_OK);
    close(out[1]);
    sbx_sandbox *s = nullptr;
    sbx_error *err = nullptr;
    EXPECT_EQ(sbx_sandbox_new_with_notify(e.release(), p, &cb, &s, &err), SBX_STATUS_OK);
    Error owned(err);
    Sandbox sandbox(s);
    const sbx_result *r = nullptr;
    if (sandbox) {
        EXPECT_EQ(sbx_sandbox_run(sandbox.get(), &r, nullptr), SBX_STATUS_OK);
    }
    run.result = Result(r);
    sandbox.reset();  // destroy has been called by now
    char buf[256];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) run.out.append(buf, static_cast<size_t>(n));
    close(out[0]);
    return run;
}

TEST(Notify, TraceAllowLetsTheCallRun) {
    Policy p = TracingPolicy();
    Recorder rec;
    rec.answer = SBX_TRACE_ACTION_ALLOW;
    Outcome run = RunWith({"personality"}, p.get(), AllCallbacks(&rec));
    ASSERT_NE(run.result, nullptr);
    EXPECT_EQ(sbx_result_status(run.result.get()), SBX_RUN_STATUS_OK) << sbx_result_description(run.result.get());
    EXPECT_EQ(run.out, "personality ok\n");
    std::lock_guard<std::mutex> lock(rec.mu);
    ASSERT_EQ(rec.traced, std::vector<std::string>{"personality"});
    EXPECT_EQ(rec.traced_arg0[0], 0xffffffffu);
    ASSERT_EQ(rec.started_pids.size(), 1u);
    EXPECT_EQ(rec.started_pids[0], sbx_result_pid(run.result.get()));
    EXPECT_TRUE(rec.violations.empty());
    EXPECT_EQ(rec.finished, std::vector<sbx_run_status>{SBX_RUN_STATUS_OK});
    EXPECT_EQ(rec.finished_description, "OK - exit code 0");
    EXPECT_EQ(rec.destroyed, 1);
    // started first, finished then destroy last, all on the monitor thread.
    EXPECT_EQ(rec.events.front(), "started");
    ASSERT_GE(rec.events.size(), 3u);
    EXPECT_EQ(rec.events[rec.events.size() - 2], "finished");
    EXPECT_EQ(rec.events.back(), "destroy");
    EXPECT_TRUE(rec.off_thread);
}

TEST(Notify, TraceErrnoFailsTheCallOnly) {
    Policy p = TracingPolicy();
    Recorder rec;
    rec.answer = SBX_TRACE_ACTION_ERRNO;
    rec.answer_errno = EPERM;
    Outcome run = RunWith({"personality"}, p.get(), AllCallbacks(&rec));
    ASSERT_NE(run.result, nullptr);
    EXPECT_EQ(sbx_result_status(run.result.get()), SBX_RUN_STATUS_OK) << sbx_result_description(run.result.get());
    EXPECT_EQ(run.out, "personality failed: errno 1\n");
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_EQ(rec.traced.size(), 1u);
    EXPECT_TRUE(rec.violations.empty());
}

TEST(Notify, TraceDenyIsAViolationNamingTheCall) {
    Policy p = TracingPolicy();
    Recorder rec;
    rec.answer = SBX_TRACE_ACTION_DENY;
    Outcome run = RunWith({"personality"}, p.get(), AllCallbacks(&rec));
    ASSERT_NE(run.result, nullptr);
    ASSERT_EQ(sbx_result_status(run.result.get()), SBX_RUN_STATUS_VIOLATION) << sbx_result_description(run.result.get());
    EXPECT_EQ(Str(sbx_violation_syscall_name(sbx_result_violation(run.result.get()))), "personality");
    EXPECT_EQ(run.out, "");
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_EQ(rec.violations, std::vector<std::string>{"personality"});
    EXPECT_EQ(rec.finished, std::vector<sbx_run_status>{SBX_RUN_STATUS_VIOLATION});
    EXPECT_EQ(rec.destroyed, 1);
}

TEST(Notify, AnswersNotUnderstoodAreDenials) {
    Policy p = TracingPolicy();
    struct Case {
        uint32_t answer;
        int32_t errno_value;
    };
    for (Case c : {Case{0, 0}, Case{99, 0}, Case{SBX_TRACE_ACTION_ERRNO, 0}, Case{SBX_TRACE_ACTION_ERRNO, 5000},
                   Case{SBX_TRACE_ACTION_ERRNO, -1}}) {
        Recorder rec;
        rec.answer = c.answer;
        rec.answer_errno = c.errno_value;
        Outcome run = RunWith({"personality"}, p.get(), AllCallbacks(&rec));
        ASSERT_NE(run.result, nullptr);
        EXPECT_EQ(sbx_result_status(run.result.get()), SBX_RUN_STATUS_VIOLATION)
            << "answer " << c.answer << " errno " << c.errno_value << ": " << sbx_result_description(run.result.get());
    }
}

TEST(Notify, NullCallbacksGiveTheDefaults) {
    // No trace callback: a traced call is denied. No started callback: the run starts.
    Policy p = TracingPolicy();
    Recorder rec;
    sbx_notify_callbacks cb{};
    cb.destroy = OnDestroy;
    cb.user_data = &rec;
    Outcome run = RunWith({"personality"}, p.get(), cb);
    ASSERT_NE(run.result, nullptr);
    EXPECT_EQ(sbx_result_status(run.result.get()), SBX_RUN_STATUS_VIOLATION) << sbx_result_description(run.result.get());
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_EQ(rec.events, std::vector<std::string>{"destroy"});
}

TEST(Notify, StartedCanVeto) {
    Policy p = TracingPolicy();
    Recorder rec;
    rec.veto = true;
    Outcome run = RunWith({"personality"}, p.get(), AllCallbacks(&rec));
    ASSERT_NE(run.result, nullptr);
    EXPECT_EQ(sbx_result_status(run.result.get()), SBX_RUN_STATUS_SETUP_ERROR) << sbx_result_description(run.result.get());
    EXPECT_EQ(Str(sbx_result_reason_name(run.result.get())), "FAILED_NOTIFY");
    EXPECT_EQ(run.out, "");  // the target never ran
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_EQ(rec.started_pids.size(), 1u);
    EXPECT_TRUE(rec.traced.empty());
    EXPECT_EQ(rec.finished, std::vector<sbx_run_status>{SBX_RUN_STATUS_SETUP_ERROR});
    EXPECT_EQ(rec.destroyed, 1);
}

// Signals reach the callbacks only under ptrace (signal-delivery stops).
TEST(Notify, SignalsAreReported) {
    Policy p = TracingPolicy(SBX_MONITOR_PTRACE);
    Recorder rec;
    Outcome run = RunWith({"segv"}, p.get(), AllCallbacks(&rec));
    ASSERT_NE(run.result, nullptr);
    ASSERT_EQ(sbx_result_status(run.result.get()), SBX_RUN_STATUS_SIGNALED) << sbx_result_description(run.result.get());
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_EQ(rec.signals, std::vector<int32_t>{SIGSEGV});
    EXPECT_EQ(rec.finished, std::vector<sbx_run_status>{SBX_RUN_STATUS_SIGNALED});
}

// Under user-notify the same run ends the same way, but no signal is reported.
TEST(Notify, UnotifyReportsNoSignals) {
    Policy p = TracingPolicy(SBX_MONITOR_UNOTIFY);
    Recorder rec;
    Outcome run = RunWith({"segv"}, p.get(), AllCallbacks(&rec));
    ASSERT_NE(run.result, nullptr);
    ASSERT_EQ(sbx_result_status(run.result.get()), SBX_RUN_STATUS_SIGNALED) << sbx_result_description(run.result.get());
    bool unotify = false;
    for (size_t i = 0; i < sbx_result_fence_count(run.result.get()); i++)
        unotify = unotify || std::string(sbx_result_fence(run.result.get(), i)) == "unotify_monitor";
    EXPECT_TRUE(unotify);
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_TRUE(rec.signals.empty());
    EXPECT_EQ(rec.finished, std::vector<sbx_run_status>{SBX_RUN_STATUS_SIGNALED});
}

TEST(Notify, MonitorValuesAreChecked) {
    sbx_policy_builder *b = sbx_policy_builder_new();
    EXPECT_EQ(sbx_policy_builder_set_monitor(b, 9, nullptr), SBX_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(sbx_policy_builder_set_monitor(nullptr, SBX_MONITOR_PTRACE, nullptr), SBX_STATUS_NULL_PARAMETER);
    EXPECT_EQ(sbx_policy_builder_set_monitor(b, SBX_MONITOR_UNOTIFY, nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_policy_builder_disable_namespaces(b, nullptr), SBX_STATUS_OK);
    const sbx_policy *p = nullptr;
    EXPECT_EQ(sbx_policy_builder_build(b, &p, nullptr), SBX_STATUS_INVALID_POLICY);
}

TEST(Notify, FinishedOnceAlsoWhenKilled) {
    Policy p = TracingPolicy();
    Recorder rec;
    sbx_notify_callbacks cb = AllCallbacks(&rec);
    sbx_sandbox *raw = nullptr;
    ASSERT_EQ(sbx_sandbox_new_with_notify(TestExecutor({"spin"}).release(), p.get(), &cb, &raw, nullptr),
              SBX_STATUS_OK);
    Sandbox s(raw);
    ASSERT_EQ(sbx_sandbox_start(s.get(), nullptr), SBX_STATUS_OK);
    EXPECT_EQ(sbx_sandbox_kill(s.get()), SBX_STATUS_OK);
    const sbx_result *r = nullptr;
    ASSERT_EQ(sbx_sandbox_wait(s.get(), &r, nullptr), SBX_STATUS_OK);
    Result result(r);
    ASSERT_EQ(sbx_sandbox_wait(s.get(), &r, nullptr), SBX_STATUS_OK);  // again: no second call
    Result again(r);
    s.reset();
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_EQ(rec.finished, std::vector<sbx_run_status>{SBX_RUN_STATUS_EXTERNAL_KILL});
    EXPECT_EQ(rec.destroyed, 1);
    EXPECT_EQ(rec.events.back(), "destroy");
}

TEST(Notify, DestroyWithoutARun) {
    Policy p = TracingPolicy();
    Recorder rec;
    sbx_notify_callbacks cb = AllCallbacks(&rec);
    sbx_sandbox *raw = nullptr;
    ASSERT_EQ(sbx_sandbox_new_with_notify(TestExecutor({"exit", "0"}).release(), p.get(), &cb, &raw, nullptr),
              SBX_STATUS_OK);
    cb.user_data = nullptr;  // the sandbox keeps its own copy
    sbx_sandbox_free(raw);
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_EQ(rec.events, std::vector<std::string>{"destroy"});
    EXPECT_FALSE(rec.off_thread);  // freed here, so destroyed here
}

TEST(Notify, ConcurrentSandboxesKeepTheirOwnUserData) {
    Policy p = TracingPolicy();
    constexpr int kRuns = 4;
    std::vector<Recorder> recs(kRuns);
    std::vector<std::thread> threads;
    for (int i = 0; i < kRuns; i++) {
        recs[i].answer = i % 2 == 0 ? SBX_TRACE_ACTION_ALLOW : SBX_TRACE_ACTION_DENY;
        threads.emplace_back([&, i] {
            Outcome run = RunWith({"personality"}, p.get(), AllCallbacks(&recs[i]));
            EXPECT_EQ(sbx_result_status(run.result.get()),
                      i % 2 == 0 ? SBX_RUN_STATUS_OK : SBX_RUN_STATUS_VIOLATION);
        });
    }
    for (auto &t : threads) t.join();
    for (auto &r : recs) {
        std::lock_guard<std::mutex> lock(r.mu);
        EXPECT_EQ(r.traced.size(), 1u);
        EXPECT_EQ(r.finished.size(), 1u);
        EXPECT_EQ(r.destroyed, 1);
    }
}

}  // namespace
