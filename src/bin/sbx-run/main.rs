//! `sbx-run`: run one command under a libsbx sandbox from the shell.
//!
//! `sbx-run [OPTIONS] -- PROGRAM [ARGS...]`. See `sbx-run --help` (the text is [`HELP`]).
//!
//! The parts: `args.rs` (the command line), `setup.rs` (the policy and executor it asks for),
//! `run.rs` (one run, from options to exit status), `signals.rs` (SIGINT/SIGTERM/SIGHUP kill
//! the sandbox), `json.rs` (`--json`), `report.rs` (learned policies, audit lists, `--check`),
//! and the resident server: `server/` (`--serve`), `client.rs` (handing a run to it) and
//! `peer.rs` (whether the other end of its socket is an equal).

mod args;
mod client;
mod json;
mod peer;
mod report;
mod run;
mod server;
mod setup;
mod signals;

use args::{parse_args, Options, Parsed};
use report::print_check;
use setup::build_policy;
use signals::Signals;
use std::process::ExitCode;

/// Exit status when the sandboxee broke the policy.
const EXIT_VIOLATION: u8 = 159;
/// Exit status when the wall-time limit expired.
const EXIT_TIMEOUT: u8 = 124;
/// Exit status when the sandbox could not be set up (or the options are wrong).
const EXIT_SETUP: u8 = 125;

const HELP: &str = "\
sbx-run: run a program in a libsbx sandbox (seccomp-bpf policy + a user-notify or ptrace monitor)

USAGE:
    sbx-run [OPTIONS] -- PROGRAM [ARGS...]
    sbx-run --check | --dump-policy | --dump-policy-file [POLICY OPTIONS] | --help | --version
    sbx-run --serve [-- COMMAND [ARGS...]]

PROGRAM without a slash is looked up in the sandboxee's PATH (see --env and --keep-env).
The default policy is libsbx's embedded allow-list for ordinary dynamically linked tools (file
I/O, memory, signals, pipes, fork/exec of further tools). Anything else ends the run as a
VIOLATION naming the syscall.

POLICY:
    --allow SYSCALL[,SYSCALL...]   Also allow these syscalls (repeatable).
    --errno SYSCALL=ERRNO          Make SYSCALL fail with ERRNO instead of being a violation
                                   (repeatable). ERRNO is a number or a name: EPERM, EACCES,
                                   ENOSYS, EINVAL, ENOENT, ...
    --allow-all                    Allow every syscall not otherwise ruled. libsbx's mandatory
                                   rules still apply (foreign ABIs, ptrace, bpf, namespaces,
                                   io_uring, keyctl, ...).
    --allow-speculation            Leave speculative execution as the kernel set it (default:
                                   speculative store bypass and indirect branch speculation
                                   force-disabled in the sandboxee where the kernel lets a
                                   process choose; fence speculation_control).
    --audit                        Permit all and log: every syscall the policy refuses runs
                                   and is listed at the end (once each, with a count and the
                                   first call's arguments; also in --json). The mandatory
                                   rules still end the run. For writing a policy, not for
                                   running hostile code.
    --stack-trace                  On a violation or an unhandled crash signal, print the
                                   offending thread's stack; on a timeout or a kill (SIGINT,
                                   SIGTERM), the main thread's (module, function, file:line
                                   where the program has debug info; also in --json).
                                   --monitor auto picks ptrace (crashes too); --monitor
                                   unotify attaches on demand (no crash traces).
    --learn FILE                   Learn mode: run PROGRAM with no syscall rules (only the
                                   mandatory ones and the denials of --errno and --policy,
                                   which stay in force and are written out first), letting
                                   every other call through and recording it, then write the
                                   minimal policy that allows what ran to FILE (socket
                                   domains, ioctl requests, prctl options, fcntl commands,
                                   clone flags and mmap/mprotect protections only as seen;
                                   under the ptrace monitor, calls that only ever failed are
                                   marked \"# only seen failing: ERRNO\" and stay allowed).
                                   Replay with --policy FILE. Like --audit, the learning run
                                   is not a sandbox for hostile code.
    --learn-merge                  With --learn: add to the policy FILE already holds (from
                                   earlier learning runs) instead of replacing it.
    --learn-format FORMAT          toml (the policy file, default), rust, c, go (builder
                                   code) or oci (a Docker/OCI seccomp profile).
    --policy FILE                  Use FILE's policy (TOML, as --learn and --dump-policy-file
                                   write it; see the README) instead of the default policy's
                                   rules; a file with [namespaces], [view] or [[mount]] also
                                   replaces the default view; its [limits] apply. Options given
                                   here win over the file's. The mandatory rules stay.
    --seccomp-profile FILE         Use a Docker/OCI seccomp profile's rules (JSON, such as
                                   moby's default.json) instead of the default policy's, for a
                                   process without capabilities; prints what it leaves out
                                   and where libsbx's mandatory rules override it (not with -q).
    --dump-policy                  Print the default policy's groups (what each allows and
                                   why) and the compiled BPF program, disassembled; exit 0.
    --dump-policy-file             Print the policy this command would run, with its limits,
                                   as a policy file (load it with --policy); exit 0.

LIMITS:
    --walltime SECONDS             Wall-time limit (fractions allowed; 0 disables). Default 120.
    --rlimit-as BYTES              RLIMIT_AS (address space). Default unlimited.
    --rlimit-cpu SECONDS           RLIMIT_CPU. Default 1024.
    --rlimit-fsize BYTES           RLIMIT_FSIZE (largest file written). Default 8G.
    --rlimit-nofile N              RLIMIT_NOFILE. Default 1024.
    --rlimit-nproc N               Most processes and threads at once (RLIMIT_NPROC, also
                                   enforced by the monitor). Default 256: 1/128 of the
                                   classic pid space (pid_max 32768), so a fork bomb holds
                                   under 1% of the host's pids.
    --rlimit-core BYTES            RLIMIT_CORE. Default 0.
    --memory BYTES                 Memory of the whole sandbox, swap included, as a cgroup of
                                   its own; beyond it the kernel's OOM killer ends a process
                                   (exit 137, 'memory limit' in the description). Default,
                                   where this user can make a memory cgroup: a quarter of
                                   the memory sbx-run may use (the host's RAM, or its own
                                   cgroup's limit when lower), at least 256 MiB ({memory}).
                                   0 or inf: none.
    --pids N                       Processes and threads alive in the whole sandbox at once (a
                                   cgroup); forks beyond fail with EAGAIN. Without it, the
                                   task cap (--rlimit-nproc) still holds.
    --cpus CPUS                    CPU share of the whole sandbox (0.5: half of one CPU).
                                   The cgroup limits need root or a delegated cgroup (cgroup v2
                                   Delegate=yes, or v1 directories you own); --check shows
                                   which controllers are usable. Without one, a run asking for
                                   them fails with exit 125 rather than running unlimited.
                                   BYTES take a K, M, G or T suffix (powers of 1024); every
                                   rlimit accepts 'inf' for unlimited. A limit above the host's
                                   own hard limit is lowered to it.

FILESYSTEM AND NAMESPACES:
    The sandboxee runs in fresh user, pid, mount, network, ipc, uts and cgroup namespaces. It
    sees a read-only root holding /usr, /bin, /sbin, /lib*, all of /etc except its secrets
    (shadow, gshadow, sudoers, SSH host keys, TLS private keys, machine-id, ...: they fail with
    EACCES), a private writable 256 MiB /tmp and 64 MiB /dev/shm, /proc and a minimal /dev; no
    home directory and no network. A PROGRAM given as a path outside those directories (./tool)
    is added read-only by itself. Writes through --bind-rw land as the directory's owner (for a
    root caller through an idmapped mount; set-id mode bits are refused).
    --bind SRC[:DST]               Bind a host file or directory read-only, at DST or at the
                                   same path (repeatable). Relative SRCs start at the current
                                   directory. Alias: --ro.
    --bind-rw SRC[:DST]            The same, writable (writable mounts are noexec). Alias: --rw.
    --allow-write-exec             Let writable mounts (--bind-rw, --tmpfs, /tmp, /dev/shm)
                                   hold programs that run: compile-and-run jobs.
    --shm SIZE                     Size of the private /dev/shm (default 64M; 0 removes it).
    --tty                          A private /dev/pts and /dev/ptmx, and the ioctls that open
                                   and drive pseudo-terminals (script, Python's pty, expect).
                                   TIOCSTI stays refused.
    --tmpfs DST[:SIZE]             A fresh writable tmpfs at DST (SIZE as BYTES below).
    --net                          Share the host's network instead of an empty one.
    --allow-connect SPEC           Let connect() reach SPEC on the host (repeatable), the
                                   network staying empty otherwise: 10.0.0.0/8:443,
                                   127.0.0.1:8080, [::1]:80 (port 0 or *: any; TCP),
                                   unix:/run/x.sock (a host path, symlinks never followed),
                                   abstract:NAME, or HOST:PORT (resolved once, now). The
                                   supervisor connects for the sandboxee and hands it the
                                   socket. Any other TCP connect is a NETWORK VIOLATION;
                                   other unix paths are looked up in the sandbox's own view.
                                   udp:ADDR:PORT (one address, one port; e.g. a resolver,
                                   udp:10.0.0.53:53): datagrams to it are relayed by the
                                   supervisor; other UDP has no route. Needs the user-notify
                                   monitor.
    --refuse-connect ERRNO         With --allow-connect: a connect the list does not allow
                                   fails with ERRNO (e.g. ECONNREFUSED) and is reported,
                                   instead of ending the run.
    --hostname NAME                Hostname inside (default 'sandbox').
    --no-namespaces                No namespaces at all: the sandboxee sees the host's files,
                                   processes and network and runs as your uid (capabilities of a
                                   root caller are dropped); only the syscall policy, Landlock
                                   scoping, rlimits and the monitor confine it. Cannot be combined
                                   with the options above.
    --monitor auto|ptrace|unotify  What watches the sandboxee (default auto: user-notify when
                                   the kernel has it and namespaces are on, else ptrace).
                                   ptrace also reports signals and counts tasks; unotify needs
                                   no ptrace and namespaces (the task cap is then RLIMIT_NPROC
                                   of the sandbox's own user namespace).
    --no-private-proc              When the kernel refuses the sandbox's own /proc (a container
                                   runtime masking parts of its /proc), show the container's
                                   /proc instead of failing (its processes become visible; they
                                   still cannot be signalled or traced); the JSON lists \"proc\"
                                   in \"degraded\".

PROCESS:
    --env KEY=VALUE                Set a variable in the sandboxee's environment (repeatable).
    --keep-env                     Start from the host's whole environment instead of the
                                   default one. Without it the sandboxee sees only
                                   PATH=/usr/local/bin:/usr/bin:/bin, plus TERM and LANG when the
                                   host has them, plus every --env.
    --cwd DIR                      Working directory inside the sandbox (absolute). Default: /.
                                   To work on files of the current directory:
                                   --ro \"$PWD\" --cwd \"$PWD\" (or --rw).

OUTPUT:
    --json                         Print the result as one JSON object on the last line of
                                   stderr.
    -q, --quiet                    No one-line summary on stderr when the run is not OK.
    --check                        Probe every kernel feature libsbx uses, one line each, then
                                   run a canary sandbox through every setup step (namespaces,
                                   mounts, pivot_root, hostname, Landlock, seccomp) and name the
                                   first failing step with its errno, cause and fix; exit 0 when
                                   sandboxes work, 125 otherwise.
    -h, --help                     This text.
    -V, --version                  Version.

SERVER (faster runs for scripts that call sbx-run many times; Linux 6.5 or later):
    --serve [-- COMMAND...]        Stay resident and make other sbx-run processes' runs: the
                                   supervisor, mount templates, pooled namespaces and cgroups
                                   and compiled policies stay warm between runs. Listens on a
                                   socket in a new directory only this user can enter; with
                                   COMMAND, runs it (NOT sandboxed) with SBX_RUN_SERVER set to
                                   TOKEN:PATH (a random token and the socket), and ends with it
                                   (its exit status); without, prints SBX_RUN_SERVER=TOKEN:PATH
                                   and ends at end of file on stdin. On SIGINT, SIGTERM or
                                   SIGHUP it kills its runs (their clients end with 128+N),
                                   passes the signal to COMMAND and waits for it (10 s), and
                                   ends with 128+N. Prints its counts on stderr.
                                   A client needs the token and must be the server's equal:
                                   same uid, groups, root directory and namespaces, no more
                                   seccomp filters, no fewer capabilities; a sandboxee is
                                   always refused.
    --no-server                    Run in this process even when SBX_RUN_SERVER names a server.
    When SBX_RUN_SERVER is set, sbx-run hands the run (arguments, environment, working
    directory, stdin/stdout/stderr) to that server and waits for its exit status, forwarding
    SIGINT/SIGTERM/SIGHUP; a server that cannot be reached, refuses or does not answer within
    10 s is noted on stderr and the run happens here, as does a run whose options name this
    process's own fds (/dev/fd/N, /dev/stdin, /proc/self/...). A served run has the server's
    rlimits, cgroup and umask, not the client's.

EXIT STATUS:
    N        the sandboxee exited with status N
    128+N    the sandboxee was killed by signal N; also when sbx-run itself got SIGINT,
             SIGTERM or SIGHUP (N), which kills the whole sandbox first
    159      the sandboxee broke the policy (VIOLATION)
    124      the wall-time limit expired (TIMEOUT)
    125      the sandbox could not be set up, libsbx failed, or the options are wrong

JSON (--json), one line, keys always present:
    {\"status\":\"OK|VIOLATION|SIGNALED|TIMEOUT|SETUP_ERROR|EXTERNAL_KILL|INTERNAL_ERROR\",
     \"reason_code\":N, \"reason\":\"NAME\"|null, \"exit_code\":N|null, \"signal\":N|null,
     \"wall_time_ms\":F, \"pid\":N, \"message\":\"...\"|null,
     \"setup_step\":\"NAME\"|null, \"setup_errno\":\"EPERM\"|null, \"setup_hint\":\"...\"|null,
     \"fences\":[\"namespaces\",\"seccomp\",...], \"degraded\":[\"hostname\"|\"proc\"],
     \"landlock\":{\"abi\":N,\"fs_rights\":[\"execute\",\"write_file\",...],
                 \"scopes\":[\"abstract_unix_socket\",\"signal\"]}|null,
     \"usage\":{\"user_ms\":F,\"system_ms\":F,\"max_rss_kib\":N,\"peak_tasks\":N},
     \"violation\":{\"arch\":\"X86-64\",\"syscall\":\"NAME\",\"nr\":N,\"args\":[6 numbers],
                  \"pid\":N,\"ip\":N,\"sp\":N}|null,
     \"audit\":[{\"arch\":\"X86-64\",\"syscall\":\"NAME\",\"nr\":N,\"args\":[6 numbers],
               \"pid\":N,\"ip\":N,\"count\":N}, ...]|null (null unless --audit),
     \"stack_trace\":{\"thread\":N,\"frames\":[{\"pc\":N,\"module\":\"PATH\"|null,
                  \"module_offset\":N,\"symbol\":\"NAME\"|null,\"symbol_offset\":N,
                  \"file\":\"PATH\"|null,\"line\":N|null,\"repeats\":N,
                  \"found_by\":\"registers|cfi|frame_pointer\"}, ...],
                  \"truncated\":BOOL,\"error\":\"...\"|null}|null
                  (a violation, crash, timeout or kill with --stack-trace),
     \"description\":\"one-line summary\"}

EXAMPLES:
    sbx-run -- ls -la /
    sbx-run --json --walltime 5 -- python3 -c 'print(1)'
    sbx-run --ro \"$PWD\" --cwd \"$PWD\" -- ./tool input.txt
    sbx-run --rw /tmp/out:/out -- sh -c 'date > /out/stamp'
    sbx-run --serve -- make -j2 check    # a build whose steps call sbx-run
";

fn fail(msg: &str) -> ExitCode {
    eprintln!("sbx-run: error: {msg}");
    ExitCode::from(EXIT_SETUP)
}

/// `--dump-policy-file`: the policy file of the run; `--dump-policy`: the default policy's
/// groups and the compiled filter.
fn print_policy(opts: &Options, built: &setup::Built) {
    if opts.dump_policy_file {
        let limits = setup::limits(opts, built.file_limits.as_ref());
        print!("{}", built.builder.to_toml_with_limits(&limits));
        return;
    }
    let user_rules = !opts.allow.is_empty() || !opts.errno.is_empty() || opts.allow_all;
    let after = if user_rules {
        " and your --allow/--errno/--allow-all"
    } else {
        ""
    };
    println!("# The embedded default policy's groups (after the mandatory rules{after}):");
    print!("{}", sbx::policy::presets::describe_tool_groups());
    println!("# The compiled filter:");
    print!("{}", built.policy.disassemble());
}

fn main() -> ExitCode {
    let args: Result<Vec<String>, String> = std::env::args_os()
        .skip(1)
        .enumerate()
        .map(|(i, a)| {
            a.into_string()
                .map_err(|a| format!("argument {} ({a:?}) is not valid UTF-8", i + 1))
        })
        .collect();
    let opts = match args.and_then(parse_args) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            print!("{}", HELP.replace("{memory}", &setup::memory_default_text()));
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!(
                "sbx-run {} (libsbx {})",
                env!("CARGO_PKG_VERSION"),
                sbx::VERSION
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sbx-run: error: {e}");
            eprintln!("Try 'sbx-run --help'.");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    if opts.check {
        return ExitCode::from(print_check());
    }
    if opts.serve {
        return ExitCode::from(server::serve(&opts));
    }
    if opts.dump_policy || opts.dump_policy_file {
        return match build_policy(&opts) {
            Ok(built) => {
                print_policy(&opts, &built);
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    if !opts.no_server {
        if let Some(code) = client::run_through_server(opts.quiet) {
            return ExitCode::from(code);
        }
    }
    let signals = match Signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    // One sandbox, then exit: no cgroups made ahead (they would only be removed again).
    sbx::cgroups::set_ready_groups(0);
    let io = run::Io {
        stdio: None,
        report: &mut std::io::stderr(),
    };
    let built = build_policy(&opts).map(std::sync::Arc::new);
    let done = run::run(&opts, built, &setup::own_env(), &signals, io);
    if done.cgroup {
        // Leave no empty groups behind: this process ends now.
        sbx::cgroups::release();
    }
    ExitCode::from(done.code)
}
