//! The search: a breadth-first walk of DT_NEEDED with the glibc loader's order (DT_RPATH, extra
//! directories, DT_RUNPATH, ld.so.cache, the system directories), bounded.

use super::{
    cache_flags, context, default_dirs, host_path, ident_class, invalid, lib_values, match_dst,
    normalize, open_regular, origin_of, parse_source, platform_values, Dst, ElfInfo, HashMap,
    HashSet, LdCache, LibraryFile, OsStr, OsStrExt, OsString, OsStringExt, Path, PathBuf, Result,
    LD_SO_CACHE, MAX_DEPTH, MAX_LIBRARIES, MAX_PROBES,
};

/// A loaded object (glibc's `link_map`), index 0 being the binary.
pub(super) struct Obj {
    /// The path it was opened by (glibc's `l_name`), absolute and not normalized.
    pub(super) host: PathBuf,
    pub(super) info: ElfInfo,
    /// The object whose DT_NEEDED loaded it (`l_loader`); its DT_RPATH is inherited.
    pub(super) loader: Option<usize>,
    pub(super) depth: usize,
}

pub(super) struct Candidate {
    pub(super) info: ElfInfo,
    pub(super) id: (u64, u64),
}

pub(super) struct Resolver {
    pub(super) class64: bool,
    pub(super) machine: u16,
    pub(super) objs: Vec<Obj>,
    /// Names each object answers to (`l_libname` + `l_name`): DT_NEEDED strings that loaded it,
    /// the path it was opened by and its soname.
    pub(super) names: HashMap<OsString, usize>,
    /// (dev, ino) of each object: the loader notices a file it already has under another path.
    pub(super) ids: HashMap<(u64, u64), usize>,
    pub(super) out: Vec<LibraryFile>,
    pub(super) seen_inside: HashSet<PathBuf>,
    pub(super) extra: Vec<PathBuf>,
    /// ld.so.cache: `None` until first needed, then `Some(None)` if it is missing or unusable.
    #[allow(clippy::option_option)]
    pub(super) cache: Option<Option<LdCache>>,
    pub(super) probes: usize,
}

impl Resolver {
    pub(super) fn new(class64: bool, machine: u16) -> Self {
        Resolver {
            class64,
            machine,
            objs: Vec::new(),
            names: HashMap::new(),
            ids: HashMap::new(),
            out: Vec::new(),
            seen_inside: HashSet::new(),
            extra: Vec::new(),
            cache: None,
            probes: 0,
        }
    }

    pub(super) fn add_names(&mut self, idx: usize, soname: Option<&String>) {
        if let Some(s) = soname {
            self.names.entry(OsString::from(s)).or_insert(idx);
        }
    }

    /// Expands `$ORIGIN`, `$LIB` and `$PLATFORM` in `s`. `$LIB` and `$PLATFORM` have several
    /// plausible values, so the result lists each distinct expansion in order of preference;
    /// it is empty when `$PLATFORM` is used but unknown for this architecture.
    pub(super) fn expand(&self, s: &[u8], origin: &[u8]) -> Vec<Vec<u8>> {
        let libs = lib_values(self.class64, self.machine);
        let plats = platform_values(self.class64, self.machine);
        let one = |lib: &str, plat: Option<&str>| -> (Option<Vec<u8>>, bool) {
            let mut out = Vec::with_capacity(s.len());
            let mut varies = false;
            let mut i = 0;
            while i < s.len() {
                if s[i] == b'$' {
                    if let Some((tok, n)) = match_dst(&s[i + 1..]) {
                        match tok {
                            Dst::Origin => out.extend_from_slice(origin),
                            Dst::Lib => {
                                varies = true;
                                out.extend_from_slice(lib.as_bytes());
                            }
                            Dst::Platform => {
                                varies = true;
                                match plat {
                                    Some(p) => out.extend_from_slice(p.as_bytes()),
                                    None => return (None, true),
                                }
                            }
                        }
                        i += 1 + n;
                        continue;
                    }
                }
                out.push(s[i]);
                i += 1;
            }
            (Some(out), varies)
        };
        let (first, varies) = one(&libs[0], plats.first().copied());
        if !varies {
            return first.into_iter().collect();
        }
        let mut all: Vec<Vec<u8>> = Vec::new();
        for lib in &libs {
            for plat in plats
                .iter()
                .map(|p| Some(*p))
                .chain(plats.is_empty().then_some(None))
            {
                if let (Some(e), _) = one(lib, plat) {
                    if !all.contains(&e) {
                        all.push(e);
                    }
                }
            }
        }
        all
    }

    /// Directories of a DT_RPATH/DT_RUNPATH: expanded as a whole, then split at `:` (glibc's
    /// order). Relative entries are dropped: they name the sandboxee's working directory, which
    /// holds none of the mounted libraries.
    pub(super) fn search_dirs(&self, list: &[String], origin: &[u8]) -> Vec<PathBuf> {
        let joined = list.join(":");
        let mut dirs = Vec::new();
        for e in self.expand(joined.as_bytes(), origin) {
            for d in e.split(|&b| b == b':') {
                if d.first() != Some(&b'/') {
                    log::debug!(
                        "skipping relative search directory {:?}",
                        String::from_utf8_lossy(d)
                    );
                    continue;
                }
                dirs.push(PathBuf::from(OsStr::from_bytes(d)));
            }
        }
        dirs
    }

    /// Opens `path` as the loader would: a missing or non-regular file, or an ELF file of the
    /// other class or another machine, is passed over (`None`); a malformed one is an error,
    /// since the loader stops there too.
    pub(super) fn probe(&mut self, path: &Path) -> Result<Option<Candidate>> {
        self.probes += 1;
        if self.probes > MAX_PROBES {
            return Err(invalid(format!(
                "gave up after probing {MAX_PROBES} candidate paths (hostile search paths?)"
            )));
        }
        let Ok((src, id)) = open_regular(path) else {
            return Ok(None);
        };
        if ident_class(&src).is_some_and(|c| c != self.class64) {
            return Ok(None);
        }
        let info = parse_source(&src, &path.display().to_string())?;
        if info.machine != self.machine {
            return Ok(None);
        }
        Ok(Some(Candidate { info, id }))
    }

    pub(super) fn probe_dirs(
        &mut self,
        dirs: &[PathBuf],
        name: &OsStr,
    ) -> Result<Option<(PathBuf, Candidate)>> {
        for d in dirs {
            let p = d.join(name);
            if let Some(c) = self.probe(&p)? {
                return Ok(Some((p, c)));
            }
        }
        Ok(None)
    }

    /// glibc's `_dl_map_object` search for `name` needed by object `req`.
    pub(super) fn search(&mut self, req: usize, name: &OsStr) -> Result<Option<(PathBuf, Candidate)>> {
        if name.as_bytes().contains(&b'/') {
            let p = PathBuf::from(name);
            if !p.is_absolute() {
                return Err(invalid(format!(
                    "{}: DT_NEEDED {:?} is a relative path, which depends on the working directory",
                    self.objs[req].host.display(),
                    name
                )));
            }
            return Ok(self.probe(&p)?.map(|c| (p, c)));
        }
        // DT_RPATH of the requester and of each object up its loader chain, then of the binary,
        // unless the requester has DT_RUNPATH. An object with DT_RUNPATH has no DT_RPATH.
        if self.objs[req].info.runpath.is_empty() {
            let mut chain = Vec::new();
            let mut at = Some(req);
            // Loaders always precede what they load, so this terminates; the bound is belt and braces.
            while let Some(i) = at.filter(|_| chain.len() <= MAX_DEPTH + 1) {
                chain.push(i);
                at = self.objs[i].loader.filter(|&l| l < i);
            }
            if !chain.contains(&0) {
                chain.push(0);
            }
            for i in chain {
                let o = &self.objs[i];
                if o.info.runpath.is_empty() && !o.info.rpath.is_empty() {
                    let dirs = self.search_dirs(&o.info.rpath, &origin_of(&o.host));
                    if let Some(f) = self.probe_dirs(&dirs, name)? {
                        return Ok(Some(f));
                    }
                }
            }
        }
        let extra = self.extra.clone();
        if let Some(f) = self.probe_dirs(&extra, name)? {
            return Ok(Some(f));
        }
        let o = &self.objs[req];
        if !o.info.runpath.is_empty() {
            let dirs = self.search_dirs(&o.info.runpath, &origin_of(&o.host));
            if let Some(f) = self.probe_dirs(&dirs, name)? {
                return Ok(Some(f));
            }
        }
        let nodeflib = self.objs[req].info.nodeflib;
        let defaults = default_dirs(self.class64, self.machine);
        if let Some(p) = self.cache_lookup(name) {
            // DF_1_NODEFLIB forbids cache entries that live in the system directories.
            let in_defaults = p.parent().is_some_and(|d| defaults.iter().any(|x| x == d));
            if !(nodeflib && in_defaults) {
                if let Some(c) = self.probe(&p)? {
                    return Ok(Some((p, c)));
                }
            }
        }
        if !nodeflib {
            if let Some(f) = self.probe_dirs(&defaults, name)? {
                return Ok(Some(f));
            }
        }
        Ok(None)
    }

    pub(super) fn cache_lookup(&mut self, name: &OsStr) -> Option<PathBuf> {
        let flags = cache_flags(self.class64, self.machine)?;
        self.cache
            .get_or_insert_with(|| LdCache::load(Path::new(LD_SO_CACHE)))
            .as_ref()?
            .lookup(name.as_bytes(), flags)
    }

    /// Satisfies one DT_NEEDED of object `req`; returns the index of a newly loaded object.
    pub(super) fn need(&mut self, req: usize, lib: &str) -> Result<Option<usize>> {
        let req_name = self.objs[req].host.display().to_string();
        if lib.is_empty() {
            return Err(invalid(format!("{req_name}: empty DT_NEEDED entry")));
        }
        let alternatives = self.expand(lib.as_bytes(), &origin_of(&self.objs[req].host));
        if alternatives.is_empty() {
            return Err(invalid(format!(
                "{req_name}: cannot expand $PLATFORM in DT_NEEDED {lib:?} for machine {}",
                self.machine
            )));
        }
        let alternatives: Vec<OsString> =
            alternatives.into_iter().map(OsString::from_vec).collect();
        // A name an already loaded object answers to is satisfied without a search.
        if alternatives.iter().any(|a| self.names.contains_key(a)) {
            return Ok(None);
        }
        let what = format!("{lib:?} needed by {req_name}");
        for a in alternatives {
            if let Some((path, cand)) = self.search(req, &a).map_err(|e| context(e, &what))? {
                return self.add_object(req, a, path, cand, true);
            }
        }
        Err(invalid(format!(
            "library {lib:?} needed by {req_name} not found (searched DT_RPATH, extra directories, DT_RUNPATH, {LD_SO_CACHE} and {})",
            default_dirs(self.class64, self.machine)
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Records a file found at `path` for `name`. A file already loaded under another path
    /// (same inode) is not loaded again, but the new path is still mounted: the loader in the
    /// sandbox opens it there before noticing it is the same file.
    pub(super) fn add_object(
        &mut self,
        loader: usize,
        name: OsString,
        path: PathBuf,
        cand: Candidate,
        queue: bool,
    ) -> Result<Option<usize>> {
        let inside = normalize(&path);
        if self.seen_inside.insert(inside.clone()) {
            let host = host_path(&path);
            self.out.push(LibraryFile { inside, host });
        }
        if let Some(&j) = self.ids.get(&cand.id) {
            self.names.entry(name).or_insert(j);
            return Ok(None);
        }
        if self.objs.len() > MAX_LIBRARIES {
            return Err(invalid(format!(
                "{}: more than {MAX_LIBRARIES} libraries needed",
                self.objs[0].host.display()
            )));
        }
        let depth = self.objs[loader].depth + 1;
        if depth > MAX_DEPTH {
            return Err(invalid(format!(
                "{}: dependency chain deeper than {MAX_DEPTH} at {}",
                self.objs[0].host.display(),
                path.display()
            )));
        }
        let idx = self.objs.len();
        self.names.entry(name).or_insert(idx);
        self.names
            .entry(path.clone().into_os_string())
            .or_insert(idx);
        self.add_names(idx, cand.info.soname.as_ref());
        self.ids.insert(cand.id, idx);
        self.objs.push(Obj {
            host: path,
            info: cand.info,
            loader: Some(loader),
            depth,
        });
        Ok(queue.then_some(idx))
    }
}
