#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz + libFuzzer, nightly Rust) of every parser that reads
# untrusted bytes: the comms decoder, the sandboxee's policy message decoder, the ELF reader,
# the BPF compiler against the policy model (differential), and policy files, network specs and
# the sockaddr bytes the network proxy copies (policy_text). Each target runs for SECONDS
# (default 30) on its corpus in fuzz/corpus/<target> (kept in the repository; new inputs found
# go to a scratch directory, or into the kept corpus with SBX_FUZZ_KEEP=1). A crash or a disagreement fails the script and leaves the input in
# fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Installs cargo-fuzz (pinned) into target/tools when missing. Needs the nightly toolchain
# (`rustup toolchain install nightly`); without it the script says so and exits 0 only when
# SBX_FUZZ_OPTIONAL=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-30}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(comms_decode client_policy elf_parse bpf_differential policy_text)

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: no nightly toolchain (rustup toolchain install nightly)" >&2
    [[ ${SBX_FUZZ_OPTIONAL:-0} == 1 ]] && exit 0
    exit 1
fi
export PATH=$PWD/target/tools/bin:$PATH
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz 0.13.1 into target/tools"
    cargo install --locked --quiet cargo-fuzz --version 0.13.1 --root target/tools
fi

echo "fuzz: building the targets (release, ASan)"
cargo +nightly fuzz build -O >/dev/null

failed=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log=$(mktemp)
    # New inputs go to the first directory: a scratch one, unless SBX_FUZZ_KEEP=1 asks to grow
    # the corpus kept in the repository.
    if [[ ${SBX_FUZZ_KEEP:-0} == 1 ]]; then
        corpora=("fuzz/corpus/$t")
    else
        corpora=("$(mktemp -d)" "fuzz/corpus/$t")
    fi
    if cargo +nightly fuzz run -O "$t" "${corpora[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1; then
        line=$(grep -E '^#[0-9]+\s+DONE' "$log" | tail -n 1)
        echo "ok   $t: ${line:-done}"
    else
        echo "FAIL $t:"
        grep -E 'panicked|ERROR|SUMMARY|Test unit written|assert' "$log" | head -20
        failed=1
    fi
    rm -f "$log"
    ((${#corpora[@]} == 2)) && rm -rf "${corpora[0]}"
done
exit "$failed"
