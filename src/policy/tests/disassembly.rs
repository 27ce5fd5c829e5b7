//! Disassembly: a snapshot of a small policy's program.

use super::*;

#[cfg(target_arch = "x86_64")]
#[test]
fn disassembly_snapshot() {
    let mut b = PolicyBuilder::new();
    b.allow("read")
        .allow_tcgets()
        .rule("write", &[Arg::lt64(0, 3)], Action::Errno(5))
        .default_action(DefaultAction::Errno(1));
    let text = b.build().unwrap().disassemble();
    let expected = "\
000: A := architecture
001: if A == 0xc000003e goto 5 else 2
002: if A == 0x40000003 goto 4 else 3
003: return TRACE 0x3
004: return TRACE 0x2
005: A := syscall number
006: if A >= 0x40000000 goto 7 else 8
007: return TRACE 0x4
008: if A >= 0x110 goto 23 else 9  # unshare
009: if A >= 0x65 goto 16 else 10  # ptrace
010: if A >= 0x10 goto 13 else 11  # ioctl
011: if A >= 0x1 goto 12 else 47  # write
012: if A >= 0x2 goto 62 else 39  # open
013: if A >= 0x38 goto 15 else 14  # clone
014: if A >= 0x11 goto 62 else 45  # pread64
015: if A >= 0x39 goto 62 else 48  # fork
016: if A >= 0xf6 goto 20 else 17  # kexec_load
017: if A >= 0xaf goto 19 else 18  # init_module
018: if A >= 0x66 goto 62 else 57  # getuid
019: if A >= 0xb1 goto 62 else 57  # get_kernel_syms
020: if A >= 0xf8 goto 22 else 21  # add_key
021: if A >= 0xf7 goto 62 else 57  # waitid
022: if A >= 0xfb goto 62 else 57  # ioprio_set
023: if A >= 0x140 goto 31 else 24  # kexec_file_load
024: if A >= 0x139 goto 28 else 25  # finit_module
025: if A >= 0x12a goto 27 else 26  # perf_event_open
026: if A >= 0x111 goto 62 else 51  # set_robust_list
027: if A >= 0x12b goto 62 else 57  # recvmmsg
028: if A >= 0x13d goto 30 else 29  # seccomp
029: if A >= 0x13a goto 62 else 57  # sched_setattr
030: if A >= 0x13e goto 62 else 54  # getrandom
031: if A >= 0x1a9 goto 35 else 32  # io_uring_setup
032: if A >= 0x143 goto 34 else 33  # userfaultfd
033: if A >= 0x142 goto 58 else 57  # execveat
034: if A >= 0x144 goto 62 else 57  # membarrier
035: if A >= 0x1b3 goto 37 else 36  # clone3
036: if A >= 0x1ac goto 62 else 57  # open_tree
037: if A >= 0x1b4 goto 62 else 38  # close_range
038: return ERRNO 38
039: A := arg 0 high
040: if A > 0x0 goto 62 else 41
041: if A == 0x0 goto 42 else 44
042: A := arg 0 low
043: if A >= 0x3 goto 62 else 44
044: return ERRNO 5
045: A := arg 1 low
046: if A == 0x5401 goto 47 else 62
047: return ALLOW
048: A := arg 0 low
049: A := A & 0x7e820000
050: if A == 0x0 goto 62 else 57
051: A := arg 0 low
052: A := A & 0x7e020080
053: if A == 0x0 goto 62 else 57
054: A := arg 1 low
055: A := A & 0x8
056: if A == 0x0 goto 62 else 57
057: return TRACE 0x1
058: A := arg 5 high
059: if A == 0x0 goto 60 else 62
060: A := arg 5 low
061: if A == 0x53425845 goto 63 else 62
062: return ERRNO 1
063: return TRACE 0x5
";
    assert_eq!(text, expected, "got:\n{text}");
}
