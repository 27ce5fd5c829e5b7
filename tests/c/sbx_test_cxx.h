// C++ helpers of the GoogleTest tests: owning handles for libsbx objects.
#ifndef SBX_TEST_CXX_H
#define SBX_TEST_CXX_H

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sbx.h"
#include "sbx_test_util.h"

namespace sbxtest {

struct FreePolicy {
    void operator()(const sbx_policy *p) const { sbx_policy_free(p); }
};
struct FreeBuilder {
    void operator()(sbx_policy_builder *b) const { sbx_policy_builder_free(b); }
};
struct FreeExecutor {
    void operator()(sbx_executor *e) const { sbx_executor_free(e); }
};
struct FreeSandbox {
    void operator()(sbx_sandbox *s) const { sbx_sandbox_free(s); }
};
struct FreeResult {
    void operator()(const sbx_result *r) const { sbx_result_free(r); }
};
struct FreeError {
    void operator()(sbx_error *e) const { sbx_error_free(e); }
};

using Policy = std::unique_ptr<const sbx_policy, FreePolicy>;
using Builder = std::unique_ptr<sbx_policy_builder, FreeBuilder>;
using Executor = std::unique_ptr<sbx_executor, FreeExecutor>;
using Sandbox = std::unique_ptr<sbx_sandbox, FreeSandbox>;
using Result = std::unique_ptr<const sbx_result, FreeResult>;
using Error = std::unique_ptr<sbx_error, FreeError>;

inline Policy TestPolicy() { return Policy(sbx_test_policy()); }

inline Executor TestExecutor(std::vector<const char *> args) {
    return Executor(sbx_test_executor(args.data(), args.size()));
}

// Builds `b` (consuming it); returns the policy, or NULL with the status in *status.
// The monitor the suites run under: SBX_TEST_MONITOR=ptrace forces ptrace (CTest runs the
// sandbox tests once per monitor; the default, auto, is user-notify for namespaced sandboxes).
inline void ApplyTestMonitor(sbx_policy_builder *b) {
    const char *m = getenv("SBX_TEST_MONITOR");
    if (b != nullptr && m != nullptr && std::string(m) == "ptrace")
        sbx_policy_builder_set_monitor(b, SBX_MONITOR_PTRACE, nullptr);
}

// `test_monitor`: apply SBX_TEST_MONITOR (false for a test that chose its monitor itself).
inline Policy Build(Builder b, sbx_status *status, std::string *message = nullptr,
                    bool test_monitor = true) {
    const sbx_policy *p = nullptr;
    sbx_error *err = nullptr;
    if (test_monitor) ApplyTestMonitor(b.get());
    *status = sbx_policy_builder_build(b.release(), &p, &err);
    Error owned(err);
    if (message != nullptr) *message = err != nullptr ? sbx_error_message(err) : "";
    return Policy(p);
}

// A sandbox for `e` under `p` (takes `e`).
inline Sandbox NewSandbox(Executor e, const sbx_policy *p) {
    sbx_sandbox *s = nullptr;
    if (sbx_sandbox_new(e.release(), p, &s, nullptr) != SBX_STATUS_OK) return Sandbox();
    return Sandbox(s);
}

// Runs `e` under `p` to the end.
inline Result RunToEnd(Executor e, const sbx_policy *p) {
    Sandbox s = NewSandbox(std::move(e), p);
    const sbx_result *r = nullptr;
    if (!s || sbx_sandbox_run(s.get(), &r, nullptr) != SBX_STATUS_OK) return Result();
    return Result(r);
}

// Starts `s`, has another thread kill it after `ms` (sbx_sandbox_kill, which may be called while
// this thread waits; `check` first, if any, on that thread; the kill's status in `*killed`), and
// returns the result.
inline Result KillFromAnotherThread(const Sandbox &s, int ms, sbx_status *killed,
                                    void (*check)(const sbx_sandbox *) = nullptr) {
    if (!s || sbx_sandbox_start(s.get(), nullptr) != SBX_STATUS_OK) return Result();
    const sbx_sandbox *shared = s.get();
    std::thread killer([shared, ms, check, killed] {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        if (check != nullptr) check(shared);
        *killed = sbx_sandbox_kill(shared);
    });
    const sbx_result *raw = nullptr;
    sbx_status st = sbx_sandbox_wait(s.get(), &raw, nullptr);
    killer.join();
    return st == SBX_STATUS_OK ? Result(raw) : Result();
}

inline std::string Str(const char *s) { return s != nullptr ? s : "(null)"; }

}  // namespace sbxtest

#endif  // SBX_TEST_CXX_H
