//! Real binaries, compared with `ldd`.

use super::*;

/// File names of the paths `ldd` resolves, or None when ldd cannot tell.
fn ldd_names(bin: &Path) -> Option<HashSet<String>> {
    let out = Command::new("ldd").arg(bin).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut names = HashSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.contains("not found") {
            return None;
        }
        let path = match line.split_once("=>") {
            Some((_, r)) => r.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or("").trim();
        // linux-vdso has no path: the kernel maps it.
        if path.starts_with('/') {
            names.insert(Path::new(path).file_name()?.to_string_lossy().into_owned());
        }
    }
    Some(names)
}

fn compare_with_ldd(bin: &Path) {
    let got = libraries_for_binary(bin, &[]).unwrap();
    eprintln!("{}: {got:#?}", bin.display());
    let ours: HashSet<String> = got
        .iter()
        .map(|l| l.inside.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for l in &got {
        assert!(l.host.is_file(), "{} missing", l.host.display());
    }
    let info = parse(&std::fs::read(bin).unwrap()).unwrap();
    assert_eq!(
        got[0].inside.display().to_string(),
        info.interpreter.unwrap()
    );
    assert!(ours.contains("libc.so.6"), "{got:?}");
    let Some(ldd) = ldd_names(bin) else {
        eprintln!(
            "ldd unavailable for {}; compared only basics",
            bin.display()
        );
        return;
    };
    for n in &ldd {
        assert!(ours.contains(n), "ldd lists {n}, we do not: {got:?}");
    }
    assert_eq!(ours, ldd, "we list more than ldd: {got:?}");
}

fn is_elf(p: &Path) -> bool {
    let mut b = [0u8; 4];
    File::open(p).and_then(|mut f| f.read_exact(&mut b)).is_ok() && b == *b"\x7fELF"
}

#[test]
fn ls_matches_ldd() {
    let ls = Path::new("/usr/bin/ls");
    if !is_elf(ls) {
        eprintln!("skipped: no ELF /usr/bin/ls");
        return;
    }
    compare_with_ldd(ls);
}

#[test]
fn python_matches_ldd() {
    let Some(which) = Command::new("which")
        .arg("python3")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    else {
        eprintln!("skipped: no python3");
        return;
    };
    // pyenv installs shell-script shims; ask the interpreter where it really is.
    let bin = if is_elf(&which) {
        which
    } else {
        let out = Command::new(&which)
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap();
        std::fs::canonicalize(String::from_utf8_lossy(&out.stdout).trim()).unwrap()
    };
    if !is_elf(&bin) {
        eprintln!("skipped: {} is not ELF", bin.display());
        return;
    }
    compare_with_ldd(&bin);
}

#[test]
fn static_binaries_need_nothing() {
    let t = TempDir::new("static");
    std::fs::write(t.0.join("m.c"), "int main(void){return 0;}\n").unwrap();
    let mut built = 0;
    for (flag, out) in [("-static", "s"), ("-static-pie", "sp")] {
        let ok = Command::new("gcc")
            .arg(flag)
            .arg("-o")
            .arg(t.0.join(out))
            .arg(t.0.join("m.c"))
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("skipped: gcc {flag} unavailable");
            continue;
        }
        built += 1;
        let bin = t.0.join(out);
        assert!(parse(&std::fs::read(&bin).unwrap())
            .unwrap()
            .interpreter
            .is_none());
        assert_eq!(libraries_for_binary(&bin, &[]).unwrap(), vec![], "{flag}");
    }
    if built == 0 {
        eprintln!("skipped: no static binary could be built");
    }
}
