// Runs a command in a libsbx sandbox with a time limit and prints the result.
//
//   run_with_timeout [--timeout-ms N] [--json] -- PROGRAM [ARGS...]
//
// The policy is libsbx's embedded tool policy (what `sbx-run` uses: ordinary dynamically linked
// tools, no namespace or ptrace tricks). PROGRAM is looked up in PATH. The sandboxee inherits
// stdin, stdout and stderr and gets PATH, HOME and LANG from this process.
//
// Exit status, as `sbx-run`: the command's own exit code when it exits; 128+N when signal N
// killed it; 159 on a policy violation; 124 when the time limit expired; 125 when the sandbox
// could not be set up or the arguments are wrong.
#include <sbx.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

// A failed libsbx call, with the library's status code and message.
class SbxError : public std::runtime_error {
  public:
    SbxError(const std::string &what, sbx_status code, sbx_error *err)
        : std::runtime_error(what + ": " + (err != nullptr ? sbx_error_message(err) : sbx_status_message(code))),
          code_(code) {
        sbx_error_free(err);
    }
    sbx_status code() const { return code_; }

  private:
    sbx_status code_;
};

// Throws SbxError unless `st` is SBX_STATUS_OK; takes ownership of `err`.
void Check(sbx_status st, sbx_error *err, const char *what) {
    if (st != SBX_STATUS_OK) throw SbxError(what, st, err);
}

template <typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using PolicyPtr = std::unique_ptr<const sbx_policy, Deleter<const sbx_policy, sbx_policy_free>>;
using ExecutorPtr = std::unique_ptr<sbx_executor, Deleter<sbx_executor, sbx_executor_free>>;
using SandboxPtr = std::unique_ptr<sbx_sandbox, Deleter<sbx_sandbox, sbx_sandbox_free>>;
using ResultPtr = std::unique_ptr<const sbx_result, Deleter<const sbx_result, sbx_result_free>>;

PolicyPtr ToolPolicy() {
    sbx_policy_builder *b = sbx_policy_builder_new_tool_default();
    if (b == nullptr) throw std::runtime_error("sbx_policy_builder_new_tool_default failed");
    const sbx_policy *p = nullptr;
    sbx_error *err = nullptr;
    Check(sbx_policy_builder_build(b, &p, &err), err, "building the policy");  // consumes b
    return PolicyPtr(p);
}

std::string FindInPath(const std::string &name) {
    if (name.find('/') != std::string::npos) return name;
    const char *path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string candidate = dirs.substr(start, end - start) + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return name;
}

ResultPtr RunWithTimeout(const std::vector<std::string> &argv, uint64_t timeout_ms) {
    PolicyPtr policy = ToolPolicy();

    sbx_executor *raw_exec = nullptr;
    sbx_error *err = nullptr;
    std::string program = FindInPath(argv[0]);
    Check(sbx_executor_new(program.c_str(), &raw_exec, &err), err, "sbx_executor_new");
    ExecutorPtr exec(raw_exec);
    std::vector<const char *> args;
    for (const std::string &a : argv) args.push_back(a.c_str());
    Check(sbx_executor_set_argv(exec.get(), args.data(), args.size(), &err), err, "argv");
    for (const char *key : {"PATH", "HOME", "LANG"}) {
        if (const char *v = std::getenv(key)) Check(sbx_executor_set_env(exec.get(), key, v, &err), err, "env");
    }
    // The monitor enforces the limit and reports TIMEOUT.
    Check(sbx_executor_set_limit(exec.get(), SBX_LIMIT_WALL_TIME_MS, static_cast<int64_t>(timeout_ms), &err), err,
          "wall-time limit");

    sbx_sandbox *raw_sandbox = nullptr;
    Check(sbx_sandbox_new(exec.release(), policy.get(), &raw_sandbox, &err), err, "sbx_sandbox_new");
    SandboxPtr sandbox(raw_sandbox);

    Check(sbx_sandbox_start(sandbox.get(), &err), err, "sbx_sandbox_start");
    std::fprintf(stderr, "run_with_timeout: started pid %d\n", sbx_sandbox_pid(sandbox.get()));

    // Belt and braces: wait a little longer than the limit, then kill it ourselves.
    const sbx_result *raw_result = nullptr;
    sbx_status st = sbx_sandbox_wait_timeout(sandbox.get(), timeout_ms + 5000, &raw_result, &err);
    if (st == SBX_STATUS_WAIT_TIMEOUT) {
        sbx_error_free(err);
        err = nullptr;
        sbx_sandbox_kill(sandbox.get());
        st = sbx_sandbox_wait(sandbox.get(), &raw_result, &err);
    }
    Check(st, err, "waiting for the sandbox");
    return ResultPtr(raw_result);
}

std::string Quoted(const char *s) {
    std::string out = "\"";
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') out += '\\';
        out += *p;
    }
    return out + "\"";
}

void Print(const sbx_result *r, bool json) {
    int32_t code = 0, sig = 0;
    bool exited = sbx_result_exit_code(r, &code);
    bool signaled = sbx_result_signal(r, &sig);
    sbx_usage usage{};
    sbx_result_usage(r, &usage);
    const sbx_violation *v = sbx_result_violation(r);
    const char *reason = sbx_result_reason_name(r);
    double wall_ms = static_cast<double>(sbx_result_wall_time_ns(r)) / 1e6;
    if (json) {
        std::printf("{\"status\":%s,\"reason\":%s,\"wall_time_ms\":%.3f,\"pid\":%d", Quoted(sbx_result_status_name(r)).c_str(),
                    reason ? Quoted(reason).c_str() : "null", wall_ms, sbx_result_pid(r));
        if (exited) std::printf(",\"exit_code\":%d", code);
        if (signaled) std::printf(",\"signal\":%d", sig);
        if (v != nullptr) {
            uint64_t a[6];
            sbx_violation_args(v, a);
            std::printf(",\"violation\":{\"arch\":%s,\"syscall\":%s,\"nr\":%llu,\"args\":[%llu,%llu,%llu,%llu,%llu,%llu],\"pid\":%d}",
                        Quoted(sbx_violation_arch(v)).c_str(), Quoted(sbx_violation_syscall_name(v)).c_str(),
                        static_cast<unsigned long long>(sbx_violation_nr(v)), static_cast<unsigned long long>(a[0]),
                        static_cast<unsigned long long>(a[1]), static_cast<unsigned long long>(a[2]),
                        static_cast<unsigned long long>(a[3]), static_cast<unsigned long long>(a[4]),
                        static_cast<unsigned long long>(a[5]), sbx_violation_pid(v));
        }
        std::printf(",\"description\":%s}\n", Quoted(sbx_result_description(r)).c_str());
        return;
    }
    std::printf("status:      %s%s%s\n", sbx_result_status_name(r), reason ? " / " : "", reason ? reason : "");
    std::printf("description: %s\n", sbx_result_description(r));
    if (exited) std::printf("exit code:   %d\n", code);
    if (signaled) std::printf("signal:      %d\n", sig);
    if (v != nullptr) {
        std::printf("violation:   [%s] %s (nr %llu) by pid %d\n", sbx_violation_arch(v), sbx_violation_syscall_name(v),
                    static_cast<unsigned long long>(sbx_violation_nr(v)), sbx_violation_pid(v));
    }
    if (const char *m = sbx_result_message(r)) std::printf("message:     %s\n", m);
    std::printf("wall time:   %.3f ms\n", wall_ms);
    std::printf("cpu time:    user %.3f ms, system %.3f ms; max RSS %llu KiB; peak tasks %u\n",
                static_cast<double>(usage.user_time_ns) / 1e6, static_cast<double>(usage.system_time_ns) / 1e6,
                static_cast<unsigned long long>(usage.max_rss_kib), usage.peak_tasks);
    std::printf("setup:      ");
    for (size_t i = 0, n = sbx_result_setup_step_count(r); i < n; i++) {
        const char *step = nullptr;
        uint64_t took_ns = 0;
        if (sbx_result_setup_step(r, i, &step, &took_ns))
            std::printf(" %s %.3f ms%s", step, static_cast<double>(took_ns) / 1e6, i + 1 < n ? "," : "");
    }
    std::printf("\n");
}

int ExitStatus(const sbx_result *r) {
    int32_t value = 0;
    switch (sbx_result_status(r)) {
        case SBX_RUN_STATUS_OK:
            sbx_result_exit_code(r, &value);
            return value;
        case SBX_RUN_STATUS_SIGNALED:
        case SBX_RUN_STATUS_EXTERNAL_KILL:
            return sbx_result_signal(r, &value) ? 128 + value : 125;
        case SBX_RUN_STATUS_VIOLATION:
            return 159;
        case SBX_RUN_STATUS_TIMEOUT:
            return 124;
        default:
            return 125;
    }
}

int Usage() {
    std::fprintf(stderr, "usage: run_with_timeout [--timeout-ms N] [--json] -- PROGRAM [ARGS...]\n");
    return 125;
}

}  // namespace

int main(int argc, char **argv) {
    uint64_t timeout_ms = 10000;
    bool json = false;
    int i = 1;
    for (; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--") {
            i++;
            break;
        } else if (a == "--timeout-ms" && i + 1 < argc) {
            char *end = nullptr;
            long long v = std::strtoll(argv[++i], &end, 10);
            if (*end != '\0' || v <= 0) return Usage();
            timeout_ms = static_cast<uint64_t>(v);
        } else if (a == "--json") {
            json = true;
        } else {
            return Usage();
        }
    }
    if (i >= argc) return Usage();
    std::vector<std::string> command(argv + i, argv + argc);
    try {
        ResultPtr r = RunWithTimeout(command, timeout_ms);
        std::fflush(stdout);
        Print(r.get(), json);
        return ExitStatus(r.get());
    } catch (const SbxError &e) {
        std::fprintf(stderr, "run_with_timeout: %s (%s)\n", e.what(), sbx_status_message(e.code()));
        return 125;
    }
}
