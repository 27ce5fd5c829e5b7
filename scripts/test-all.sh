#!/usr/bin/env bash
# Every test suite of libsbx, in one command (CI runs this through .ci/run):
#   Rust (library, integration tests, doc tests), a CLI smoke test of sbx-run, the same sandbox
#   tests as an unprivileged user, bounded fuzzing (scripts/fuzz.sh), C (CTest), Go, and the
#   sandbox inside a real container runtime
#   (scripts/test-podman.sh; skipped with the reason when podman cannot run here).
# Installs missing system packages when run as root. Runs every suite even after a failure,
# prints each runner's own output, then a summary; exits non-zero when anything failed.
#
# Environment: SBX_SUITE_TIMEOUT (seconds per suite, default 900).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

suite_timeout=${SBX_SUITE_TIMEOUT:-900}
declare -a summary=()
failed=0

# --- System packages ---
missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
dpkg-query -W -f='${Status}' gcc-multilib 2>/dev/null | grep -q 'ok installed' || missing+=(gcc-multilib)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "test-all: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
            apt-get update -qq >/dev/null
            apt-get install -y -qq "${missing[@]}" >/dev/null
        fi
    else
        echo "test-all: warning: missing ${missing[*]}; install them as root (some tests will skip)" >&2
    fi
fi

# run NAME COMMAND...: runs one suite with a time limit and records the outcome.
run() {
    local name=$1
    shift
    echo
    echo "=== ${name}: $* ==="
    local start=$SECONDS rc=0
    if declare -F "$1" >/dev/null; then
        "$@" || rc=$?
    else
        timeout --kill-after=30 "$suite_timeout" "$@" || rc=$?
    fi
    local took=$((SECONDS - start))
    if ((rc == 0)); then
        summary+=("ok      ${name} (${took}s)")
    else
        ((rc == 124)) && echo "test-all: ${name} timed out after ${suite_timeout}s" >&2
        summary+=("FAILED  ${name} (exit ${rc}, ${took}s)")
        failed=1
    fi
}

skip() {
    summary+=("skipped $1 ($2)")
}

# --- Rust ---
echo "=== build: cargo build --all-targets ==="
if ! cargo build --all-targets; then
    echo "test-all: FAILED: cargo build --all-targets" >&2
    exit 1
fi
# The house rules (issue 17): clippy with the [lints] table (pedantic included) reports nothing,
# and no module imports another that imports it back (ARCHITECTURE.md, "Layering").
if cargo clippy --version >/dev/null 2>&1 || rustup component add clippy >/dev/null 2>&1; then
    run "Lints (cargo clippy --all-targets, warnings denied)" cargo clippy --all-targets -- -D warnings
else
    skip "Lints (cargo clippy)" "no clippy for this toolchain (rustup component add clippy)"
fi
run "Import loops (scripts/import-loops.py)" python3 scripts/import-loops.py
run "Rust (cargo test)" cargo test --no-fail-fast
# The sandbox suites again under the ptrace monitor (the default, auto, picks user-notify for
# namespaced sandboxes on this kernel; tests/common's build() applies SBX_TEST_MONITOR).
run "Rust, ptrace monitor (SBX_TEST_MONITOR=ptrace)" env SBX_TEST_MONITOR=ptrace cargo test --no-fail-fast \
    --test lifecycle --test limits --test namespaces --test notify --test resources --test setup \
    --test violations --test hardening --test supervisor --test containers --test workloads \
    --test storm --test soak
# Stack traces: auto picks ptrace for them, so user-notify's on-demand attach is run on its own.
run "Rust, stack traces under user-notify (SBX_TEST_MONITOR=unotify)" env SBX_TEST_MONITOR=unotify \
    cargo test --test stacktrace

# --- CLI smoke (sbx-run's exit-status contract) ---
# cli_smoke [RUNNER...]: every exit-status case of sbx-run, run through RUNNER (e.g. setpriv).
cli_smoke() {
    local bin=${CLI_BIN:-target/debug/sbx-run} rc fails=0
    check() { # check EXPECTED_STATUS DESCRIPTION ARGS...
        local want=$1 what=$2
        shift 2
        rc=0
        "$@" >/dev/null 2>&1 </dev/null || rc=$?
        if [[ $rc == "$want" ]]; then
            echo "ok   $what (exit $rc)"
        else
            echo "FAIL $what: exit $rc, expected $want"
            fails=$((fails + 1))
        fi
    }
    local sbxrun=("$@" "$bin" -q)
    check 0 "--check" "${sbxrun[@]}" --check
    check 0 "ls -la /" "${sbxrun[@]}" -- ls -la /
    check 0 "pipeline in sh" "${sbxrun[@]}" -- sh -c 'echo hi | wc -c'
    check 0 "python3 -c" "${sbxrun[@]}" -- python3 -c 'print(1)'
    check 0 "--ro and --cwd" "${sbxrun[@]}" --ro "$PWD/scripts" --cwd "$PWD/scripts" -- test -f test-all.sh
    check 42 "exit code passes through" "${sbxrun[@]}" -- sh -c 'exit 42'
    check 137 "killed by SIGKILL -> 128+9" "${sbxrun[@]}" -- sh -c 'kill -9 $$'
    check 159 "new user namespace (forbidden) -> 159" "${sbxrun[@]}" -- unshare -U true
    check 124 "wall-time limit -> 124" "${sbxrun[@]}" --walltime 0.5 -- sleep 5
    check 125 "unknown option -> 125" "${sbxrun[@]}" --no-such-option -- true
    check 125 "missing program -> 125" "${sbxrun[@]}" -- /nonexistent/program
    local last
    last=$("$@" "$bin" --json -- true 2>&1 >/dev/null </dev/null | tail -n 1)
    if [[ $last == '{"status":"OK",'*'"description":"OK - exit code 0"}' ]]; then
        echo "ok   --json: last stderr line is the result object"
    else
        echo "FAIL --json: last stderr line is: $last"
        fails=$((fails + 1))
    fi
    # SIGTERM to sbx-run kills the sandbox and ends sbx-run with 128+15, at once.
    local pid i
    "$@" "$bin" -q -- sleep 30 </dev/null >/dev/null 2>&1 &
    pid=$!
    sleep 0.5
    kill -TERM "$pid"
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        echo "FAIL SIGTERM to sbx-run: still running 5 s later"
        fails=$((fails + 1))
    fi
    rc=0
    wait "$pid" || rc=$?
    if [[ $rc == 143 ]]; then
        echo "ok   SIGTERM to sbx-run kills the sandbox (exit 143)"
    else
        echo "FAIL SIGTERM to sbx-run: exit $rc, expected 143"
        fails=$((fails + 1))
    fi
    check 159 "ionice's ioprio_set (not in the default policy) -> 159" "${sbxrun[@]}" -- ionice -c 3 true
    check 0 "the same with --audit runs" "${sbxrun[@]}" --audit -- ionice -c 3 true
    last=$("$@" "$bin" --audit --json -- ionice -c 3 true 2>&1 >/dev/null </dev/null | tail -n 1)
    if [[ $last == '{"status":"OK",'*'"audit":[{"arch":'*'"syscall":"ioprio_set"'*'"count":1}'* ]]; then
        echo "ok   --audit --json: the result lists ioprio_set"
    else
        echo "FAIL --audit --json: last stderr line is: $last"
        fails=$((fails + 1))
    fi
    # Learn mode: the learned file runs the same workload and refuses more; a bad file is 125.
    local learned
    learned=$(mktemp -d)
    chmod 777 "$learned"
    check 0 "--learn writes a policy file" "${sbxrun[@]}" --learn "$learned/p.toml" -- sh -c 'echo hi | wc -c'
    check 0 "--policy runs the learned workload" "${sbxrun[@]}" --policy "$learned/p.toml" -- sh -c 'echo hi | wc -c'
    check 159 "--policy refuses what was not learned" "${sbxrun[@]}" --policy "$learned/p.toml" -- ionice -c 3 true
    echo 'version = 1' >"$learned/bad.toml"
    echo 'allow = ["no_such_call"]' >>"$learned/bad.toml"
    check 125 "--policy with an unknown syscall -> 125" "${sbxrun[@]}" --policy "$learned/bad.toml" -- true
    # The whole policy as a file: --dump-policy-file writes it, --policy runs it, and its
    # [limits] apply unless the command line says otherwise.
    "${sbxrun[@]}" --dump-policy-file >"$learned/full.toml"
    check 0 "--policy runs the --dump-policy-file of the default policy" "${sbxrun[@]}" --policy "$learned/full.toml" -- sh -c 'echo hi > /tmp/x && cat /tmp/x'
    sed 's/^walltime = .*/walltime = 0.5/' "$learned/full.toml" >"$learned/wall.toml"
    check 124 "--policy with [limits] walltime = 0.5 -> 124" "${sbxrun[@]}" --policy "$learned/wall.toml" -- sleep 5
    check 0 "--walltime wins over the file's [limits] walltime" "${sbxrun[@]}" --policy "$learned/wall.toml" --walltime 10 -- sleep 1
    sed 's/^memory = .*/memory = 67108864/' "$learned/full.toml" >"$learned/mem.toml"
    check "$([[ $("$@" id -u) == 0 ]] && echo 137 || echo 125)" "--policy with [limits] memory = 64 MiB: a 256 MiB balloon" "${sbxrun[@]}" --policy "$learned/mem.toml" -- python3 -c 'b = bytearray(256 << 20); b[::4096] = b"x" * len(b[::4096])'
    rm -rf "$learned"
    # Network allow-list: a host HTTP server on a free port; curl reaches it, not another port.
    local web port
    web=$(mktemp -d)
    (cd "$web" && echo page >index.html && exec timeout 120 python3 -c 'import http.server, sys
s = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_port))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()' "$web/port" >/dev/null 2>&1) &
    local server=$!
    for i in $(seq 100); do [[ -s $web/port ]] && break; sleep 0.05; done
    port=$(cat "$web/port" 2>/dev/null || echo 1)
    check 0 "--allow-connect: curl gets a page from an allowed host server" "${sbxrun[@]}" --allow-connect "127.0.0.1:$port" -- curl -sfS --max-time 10 "http://127.0.0.1:$port/"
    check 159 "--allow-connect: another port is a NETWORK VIOLATION -> 159" "${sbxrun[@]}" --allow-connect "127.0.0.1:$port" -- curl -sS --max-time 10 "http://127.0.0.1:$((port ^ 1))/"
    check 7 "--refuse-connect ECONNREFUSED: curl cannot connect (7)" "${sbxrun[@]}" --allow-connect "127.0.0.1:$port" --refuse-connect ECONNREFUSED -- curl -sS --max-time 10 "http://127.0.0.1:$((port ^ 1))/"
    check 125 "--allow-connect with a bad spec -> 125" "${sbxrun[@]}" --allow-connect 10.0.0.0/33:1 -- true
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    rm -rf "$web"
    # cgroup limits: as root the memory limit ends a balloon (137); without a cgroup to make a
    # group in (uid 65534 here) the run is refused (125), never run unlimited.
    local mem_want=137
    [[ $("$@" id -u) == 0 ]] || mem_want=125
    check "$mem_want" "--memory 64M: a 256 MiB balloon -> $mem_want" "${sbxrun[@]}" --memory 64M -- python3 -c 'b = bytearray(256 << 20); b[::4096] = b"x" * len(b[::4096])'
    check "$((mem_want == 137 ? 0 : 125))" "--memory 64M --pids 64 --cpus 0.5: a small job" "${sbxrun[@]}" --memory 64M --pids 64 --cpus 0.5 -- sh -c 'echo hi | wc -c'
    # The default memory ceiling: where a memory cgroup can be made (root here) every run has
    # one unless --memory 0 says none; elsewhere (uid 65534) runs go on without one.
    local cg_default='"cgroup":{"memory_peak":' json
    [[ $mem_want == 137 ]] || cg_default='"cgroup":null'
    for args in "" "--memory 0"; do
        # shellcheck disable=SC2086 # $args is empty or two words
        json=$("$@" "$bin" --json $args -- true 2>&1 >/dev/null </dev/null | tail -n 1)
        local want=$cg_default
        [[ -z $args ]] || want='"cgroup":null'
        if [[ $json == '{"status":"OK",'*"$want"* ]]; then
            echo "ok   default memory ceiling, --json ${args:-(no --memory)}: $want"
        else
            echo "FAIL default memory ceiling, --json ${args:-(no --memory)}: want $want in: $json"
            fails=$((fails + 1))
        fi
    done
    if "$@" "$bin" --help | grep -q -E '\(here: ([0-9]+ MiB|none, no memory cgroup can be made)\)'; then
        echo "ok   --help names this host's default memory ceiling"
    else
        echo "FAIL --help does not name the default memory ceiling"
        fails=$((fails + 1))
    fi
    echo "CLI smoke: $fails failed"
    ((fails == 0))
}
if [[ -x target/debug/sbx-run ]]; then
    run "CLI smoke (sbx-run)" cli_smoke
    if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null 2>&1; then
        # The unprivileged user must reach target/ and scripts/ (tests/run-unprivileged.sh does
        # the same).
        chmod o+rX . target target/debug scripts 2>/dev/null || true
        run "CLI smoke (sbx-run), uid 65534" cli_smoke setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all
    fi
else
    skip "CLI smoke (sbx-run)" "target/debug/sbx-run not built"
fi
# The same smoke test through a resident server (sbx-run --serve, started through the same
# RUNNER): every run must be served by it (its count on exit), none refused.
cli_served() {
    local bin=${CLI_BIN:-target/debug/sbx-run} line err rc=0 runs
    err=$(mktemp)
    coproc SERVER { "$@" "$bin" --serve 2>"$err"; }
    local server_in=${SERVER[1]} server_pid=$SERVER_PID
    if ! read -r -t 60 line <&"${SERVER[0]}" || [[ $line != SBX_RUN_SERVER=* ]]; then
        echo "FAIL the server did not start: $line $(cat "$err")"
        kill "$server_pid" 2>/dev/null
        rm -f "$err"
        return 1
    fi
    SBX_RUN_SERVER=${line#SBX_RUN_SERVER=} cli_smoke "$@" || rc=$?
    exec {server_in}>&-
    timeout 20 tail --pid="$server_pid" -f /dev/null || { echo "FAIL the server did not end"; rc=1; }
    line=$(tail -n 1 "$err")
    rm -f "$err"
    runs=$(sed -n 's/^sbx-run --serve: served \([0-9]*\) runs, refused 0 clients$/\1/p' <<<"$line")
    if [[ -n $runs ]] && ((runs >= 25)); then
        echo "ok   the server ran the smoke test's runs: $line"
    else
        echo "FAIL the server's count: $line (want 25 or more runs, 0 refusals)"
        rc=1
    fi
    return "$rc"
}
kernel=$(uname -r)
kernel_major=${kernel%%.*}
kernel_minor=${kernel#*.}
kernel_minor=${kernel_minor%%[!0-9]*}
if ((kernel_major < 6 || (kernel_major == 6 && kernel_minor < 5))); then
    skip "CLI smoke through a server" "kernel $kernel: sbx-run --serve needs Linux 6.5 (SO_PEERPIDFD)"
elif [[ -x target/debug/sbx-run ]]; then
    run "CLI smoke through a server (sbx-run --serve)" cli_served
    if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null 2>&1; then
        run "CLI smoke through a server, uid 65534" cli_served setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all
    fi
fi
# The static sbx-run (scripts/build-cli.sh: musl, or glibc static-pie where the musl target
# cannot be installed), through the same smoke test, as root and as uid 65534.
cli_static() {
    bash scripts/build-cli.sh && CLI_BIN=target/release/sbx-run cli_smoke "$@"
}
run "CLI static (scripts/build-cli.sh + smoke)" cli_static
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null 2>&1; then
    chmod o+rX . target target/release scripts 2>/dev/null || true
    run "CLI static, uid 65534" cli_static setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all
fi

# --- Unprivileged pass ---
if [[ -f tests/run-unprivileged.sh ]]; then
    run "Rust, unprivileged (tests/run-unprivileged.sh)" bash tests/run-unprivileged.sh
    run "Rust, unprivileged, ptrace monitor" env SBX_TEST_MONITOR=ptrace bash tests/run-unprivileged.sh
else
    skip "Rust, unprivileged" "tests/run-unprivileged.sh not present"
fi

# --- Fuzzing (bounded; scripts/fuzz.sh SECONDS runs longer) ---
if cargo +nightly --version >/dev/null 2>&1; then
    run "Fuzz (scripts/fuzz.sh 20: comms, client policy, ELF, BPF differential, policy text)" bash scripts/fuzz.sh 20
    # The library's unit tests (parsers, the policy compiler, comms, cgroup and netns logic)
    # under AddressSanitizer; a separate target dir keeps the instrumented build apart.
    run "Rust unit tests under ASan (nightly)" env RUSTFLAGS=-Zsanitizer=address RUSTDOCFLAGS=-Zsanitizer=address CARGO_TARGET_DIR=target/asan cargo +nightly test -q --lib --target x86_64-unknown-linux-gnu
else
    skip "Fuzz" "no nightly Rust toolchain (cargo-fuzz needs it: rustup toolchain install nightly)"
fi

# --- C (CTest) ---
if [[ -f scripts/test-c.sh ]]; then
    run "C (CTest)" bash scripts/test-c.sh
else
    skip "C (CTest)" "scripts/test-c.sh not present"
fi

# --- Go ---
if [[ -f scripts/test-go.sh ]]; then
    run "Go" bash scripts/test-go.sh
else
    skip "Go" "scripts/test-go.sh not present"
fi

# --- aarch64: cross builds and unit tests under qemu-user (skipped when the tools are missing) ---
if aarch64_probe=$(bash scripts/test-aarch64.sh --probe 2>&1); then
    run "aarch64 (scripts/test-aarch64.sh: cross build, init image, unit tests under qemu, C, Go)" bash scripts/test-aarch64.sh
else
    skip "aarch64 cross check" "$(tail -n 1 <<<"$aarch64_probe")"
fi

# --- A real container runtime (podman + runc; installed from Debian when missing) ---
if [[ -f scripts/test-podman.sh ]]; then
    probe_rc=0
    probe_out=$(bash scripts/test-podman.sh --probe 2>&1) || probe_rc=$?
    if ((probe_rc == 0)); then
        run "Container runtime (podman)" bash scripts/test-podman.sh
    else
        reason=$(tail -n 1 <<<"$probe_out")
        echo
        echo "test-all: skipping the container runtime suite: ${reason}"
        skip "Container runtime (podman)" "$reason"
    fi
else
    skip "Container runtime (podman)" "scripts/test-podman.sh not present"
fi

echo
echo "=== summary ==="
printf '  %s\n' "${summary[@]}"
passed_suites=$(printf '%s\n' "${summary[@]}" | grep -c '^ok ' || true)
failed_suites=$(printf '%s\n' "${summary[@]}" | grep -c '^FAIL' || true)
# The plain closing line CI reads: suites, not individual tests (each runner printed its own).
echo "test-all: ${passed_suites} passed, ${failed_suites} failed"
if ((failed)); then
    exit 1
fi
