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
009: if A >= 0xaf goto 16 else 10  # init_module
010: if A >= 0x10 goto 13 else 11  # ioctl
011: if A == 0x0 goto 47 else 12  # read
012: if A == 0x1 goto 39 else 62  # write
013: if A == 0x10 goto 45 else 14  # ioctl
014: if A == 0x38 goto 48 else 15  # clone
015: if A == 0x65 goto 57 else 62  # ptrace
016: if A >= 0xf8 goto 20 else 17  # add_key
017: if A == 0xaf goto 57 else 18  # init_module
018: if A == 0xb0 goto 57 else 19  # delete_module
019: if A == 0xf6 goto 57 else 62  # kexec_load
020: if A == 0xf8 goto 57 else 21  # add_key
021: if A == 0xf9 goto 57 else 22  # request_key
022: if A == 0xfa goto 57 else 62  # keyctl
023: if A >= 0x142 goto 31 else 24  # execveat
024: if A >= 0x13d goto 28 else 25  # seccomp
025: if A == 0x110 goto 51 else 26  # unshare
026: if A == 0x12a goto 57 else 27  # perf_event_open
027: if A == 0x139 goto 57 else 62  # finit_module
028: if A == 0x13d goto 54 else 29  # seccomp
029: if A == 0x140 goto 57 else 30  # kexec_file_load
030: if A == 0x141 goto 57 else 62  # bpf
031: if A >= 0x1aa goto 35 else 32  # io_uring_enter
032: if A == 0x142 goto 58 else 33  # execveat
033: if A == 0x143 goto 57 else 34  # userfaultfd
034: if A == 0x1a9 goto 57 else 62  # io_uring_setup
035: if A == 0x1aa goto 57 else 36  # io_uring_enter
036: if A == 0x1ab goto 57 else 37  # io_uring_register
037: if A == 0x1b3 goto 38 else 62  # clone3
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
