#!/usr/bin/env bash
# libsbx inside a real container runtime (issue 19; docs/containers.md): rootful podman with
# runc, over an overlay of this machine's own root (`--rootfs /:O`, no image registry needed),
# with target/release/sbx-run mounted read-only and no network.
#
#   1. the runtime's defaults: `sbx-run --check` names step mount_proc, the fix, exits 125; a
#      run fails at the same step; `--no-namespaces` (the fallback) and `--no-private-proc`
#      (the opt-in) work;
#   2. `--security-opt unmask=ALL`: --check passes; runs work, the hostname is degraded (the
#      runtime's seccomp profile refuses sethostname);
#   3. `unmask=ALL` and `seccomp=unconfined`: --check passes, runs work, nothing degraded;
#   4. the Rust sandbox suites (test binaries of this build) inside: all of them with the
#      settings of case 3; with the defaults the suite without namespaces (the others are
#      skipped: --check said why).
#
# `scripts/test-podman.sh --probe` only makes sure podman can run a container here (installing
# podman and runc from Debian with apt-get when missing and running as root); it exits 77 with
# the reason on stdout when it cannot.
#
# Environment: SBX_PODMAN_LIMIT (nofile/nproc ulimit inside; default 4096, lowered to the
# current hard limits: the root here may lack CAP_SYS_RESOURCE).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

skip() {
    echo "$1"
    exit 77
}

# --- podman and runc (Debian's packages, whatever apt provides) ---
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
    [[ $(id -u) == 0 ]] || skip "podman/runc missing and not root: cannot install them"
    command -v apt-get >/dev/null 2>&1 || skip "podman/runc missing and no apt-get"
    echo "test-podman: installing podman runc"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends podman runc >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get install -y -qq --no-install-recommends podman runc >/dev/null 2>&1 ||
            skip "apt-get could not install podman runc"
    fi
fi
[[ $(id -u) == 0 ]] || skip "rootful podman needs root"

limit=${SBX_PODMAN_LIMIT:-4096}
for hard in "$(ulimit -Hn)" "$(ulimit -Hu)"; do
    [[ $hard == unlimited ]] || ((hard >= limit)) || limit=$hard
done
# This machine's cgroups are hybrid: crun refuses them, runc works.
podman_run=(podman run --rm --runtime runc --network none
    --ulimit "nofile=$limit:$limit" --ulimit "nproc=$limit:$limit")
if ! out=$("${podman_run[@]}" --rootfs /:O true 2>&1); then
    skip "podman cannot run a container here: $(echo "$out" | tail -n 1)"
fi
[[ ${1:-} == --probe ]] && exit 0

# --- the sandbox in the container ---
cargo build --release --bin sbx-run -q
bin=$PWD/target/release/sbx-run
fails=0
passes=0

# in_container 'PODMAN OPTIONS' 'SHELL COMMAND': runs the command (sbx-run is /sbx-run) in a
# container; sets $out (stdout and stderr) and $rc.
in_container() {
    local opts=$1 cmd=$2
    # shellcheck disable=SC2086 # the options are words
    rc=0
    out=$("${podman_run[@]}" $opts -v "$bin:/sbx-run:ro" --rootfs /:O sh -c "$cmd" 2>&1) || rc=$?
}

# expect DESCRIPTION WANT_RC 'PODMAN OPTIONS' 'SHELL COMMAND' [GREP...]: every GREP (fixed
# string) must appear in the output.
expect() {
    local what=$1 want=$2 opts=$3 cmd=$4
    shift 4
    in_container "$opts" "$cmd"
    local bad=""
    [[ $rc == "$want" ]] || bad="exit $rc, expected $want"
    local g
    for g in "$@"; do
        grep -qF -- "$g" <<<"$out" || bad="${bad:+$bad; }missing '$g'"
    done
    if [[ -z $bad ]]; then
        echo "ok   [$opts] $what"
        passes=$((passes + 1))
    else
        echo "FAIL [$opts] $what: $bad"
        sed 's/^/     | /' <<<"$out" | tail -n 20
        fails=$((fails + 1))
    fi
}

# 1. The runtime's defaults (masked /proc, its seccomp profile).
d=""
expect "--check names step mount_proc, the fix and the fallback, exits 125" 125 "$d" \
    "/sbx-run --check" \
    "MISSING canary sandbox" "step mount_proc failed with EPERM" "podman: --security-opt unmask=ALL" \
    "Docker: --security-opt systempaths=unconfined" "procMount: Unmasked" \
    "the fallback works: sbx-run --no-namespaces"
expect "a run fails at the step --check named" 125 "$d" \
    "/sbx-run --json -- /bin/ls /" \
    '"setup_step":"mount_proc","setup_errno":"EPERM"' "unmask=ALL"
expect "the fallback --no-namespaces works" 0 "$d" \
    "/sbx-run --json --no-namespaces -- /bin/ls /" \
    '"status":"OK"' '"fences":["seccomp","landlock","no_new_privs","rlimits","ptrace_monitor"]'
expect "the fallback still reports a violation" 159 "$d" \
    "/sbx-run --no-namespaces -- /bin/sh -c 'exec unshare -U true'" \
    "SYSCALL VIOLATION"
expect "the opt-in --no-private-proc works and says what was left out" 0 "$d" \
    "/sbx-run --json --no-private-proc -- /bin/sh -c 'cat /proc/self/uid_map'" \
    '"degraded":["hostname","proc"]' '"namespaces","network_namespace","filesystem_view","seccomp"'

# 2. /proc unmasked: the runtime's seccomp profile still refuses sethostname (cosmetic).
u="--security-opt unmask=ALL"
expect "--check passes" 0 "$u" "/sbx-run --check" \
    "ok      canary sandbox" "left out: hostname"
expect "a run works, hostname degraded" 0 "$u" \
    "/sbx-run --json -- /bin/ls /" \
    '"status":"OK"' '"private_proc"' '"degraded":["hostname"]'
expect "a pipeline works" 0 "$u" "/sbx-run -- /bin/sh -c 'echo hi | wc -c'" "3"

# 3. The recommended settings: nothing degraded.
r="--security-opt unmask=ALL --security-opt seccomp=unconfined"
expect "--check passes" 0 "$r" "/sbx-run --check" \
    "ok      canary sandbox" "all required features are available"
expect "a run works, nothing degraded" 0 "$r" \
    "/sbx-run --json -- /bin/sh -c 'test \"\$(cat /proc/sys/kernel/hostname)\" = sandbox'" \
    '"status":"OK"' '"degraded":[]'
expect "a violation is reported" 159 "$r" \
    "/sbx-run -- /bin/sh -c 'exec unshare -U true'" "SYSCALL VIOLATION"

# The same as an unprivileged user inside (the sandbox's unprivileged path).
n="--user 65534:65534"
expect "--check names step mount_proc" 125 "$n" "/sbx-run --check" \
    "step mount_proc failed with EPERM" "the fallback works"
expect "the opt-in --no-private-proc works" 0 "$n" \
    "/sbx-run --json --no-private-proc -- /bin/sh -c 'cat /proc/self/uid_map'" \
    '"degraded":["hostname","proc"]'
expect "a run works with /proc unmasked" 0 "$n $u" \
    "/sbx-run --json -- /bin/ls /" '"status":"OK"' '"private_proc"'

# 4. The Rust sandbox suites inside: all of them with the recommended settings; with the
#    runtime's defaults only the suite without namespaces (the rest need the private /proc that
#    --check said is refused there, case 1).
suites=(namespaces setup violations no_namespaces hardening lifecycle limits notify client resources)
cargo build --tests -q
test_bins=$(cargo test --no-run 2>&1 | grep -o 'target/debug/deps/[a-z_]*-[0-9a-f]*' | sort -u)
suite_bin() {
    grep "/$1-" <<<"$test_bins" | head -n 1
}
for suite in "${suites[@]}"; do
    b=$(suite_bin "$suite")
    [[ -n $b ]] || { echo "FAIL no test binary for $suite"; fails=$((fails + 1)); continue; }
    expect "Rust suite $suite passes" 0 "$r" "cd '$PWD' && $b -q" "test result: ok."
done
b=$(suite_bin no_namespaces)
expect "Rust suite no_namespaces passes" 0 "$d" "cd '$PWD' && $b -q" "test result: ok."
echo "skipped [] the namespaced Rust suites: --check names step mount_proc (masked /proc) there"

echo "test-podman: $passes passed, $fails failed"
((fails == 0))
