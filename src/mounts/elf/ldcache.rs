//! `/etc/ld.so.cache`: its two formats, read with bounds.

use super::reader::{bytes_at, le, le32};
use super::{File, OsStr, OsStrExt, Path, PathBuf, Read, MAX_CACHE_SIZE, MAX_STRING};

/// A parsed ld.so.cache: the raw bytes plus where the entry table and strings are.
pub(super) struct LdCache {
    pub(super) data: Vec<u8>,
    pub(super) entries: usize,
    pub(super) nlibs: usize,
    pub(super) entry_size: usize,
    /// Base that entry key/value offsets are relative to.
    pub(super) strings: usize,
}

impl LdCache {
    pub(super) const OLD_MAGIC: &'static [u8] = b"ld.so-1.7.0";
    pub(super) const NEW_MAGIC: &'static [u8] = b"glibc-ld.so.cache1.1";
    pub(super) const NEW_HEADER: usize = 48;
    pub(super) const NEW_ENTRY: usize = 24;
    pub(super) const OLD_ENTRY: usize = 12;

    /// Reads the cache; a missing or broken cache is ignored, as the loader ignores it.
    pub(super) fn load(path: &Path) -> Option<LdCache> {
        let mut data = Vec::new();
        let read = File::open(path).and_then(|f| f.take(MAX_CACHE_SIZE + 1).read_to_end(&mut data));
        if let Err(e) = read {
            log::debug!("{}: not used: {e}", path.display());
            return None;
        }
        if data.len() as u64 > MAX_CACHE_SIZE {
            log::warn!(
                "{}: larger than {MAX_CACHE_SIZE} bytes, not used",
                path.display()
            );
            return None;
        }
        match LdCache::parse(data) {
            Ok(c) => Some(c),
            Err(e) => {
                log::warn!("{}: not used: {e}", path.display());
                None
            }
        }
    }

    pub(super) fn parse(data: Vec<u8>) -> std::result::Result<LdCache, String> {
        let len = data.len();
        let new_at = |off: usize| {
            off.checked_add(Self::NEW_HEADER)
                .is_some_and(|end| end <= len)
                && data
                    .get(off..)
                    .is_some_and(|d| d.starts_with(Self::NEW_MAGIC))
        };
        let new_off = if data.starts_with(Self::OLD_MAGIC) {
            if len < 16 {
                return Err("truncated old-format header".into());
            }
            let n =
                usize::try_from(le32(&data, 12)).map_err(|_| "old-format entry count too large")?;
            let end = n
                .checked_mul(Self::OLD_ENTRY)
                .and_then(|b| b.checked_add(16))
                .filter(|&e| e <= len)
                .ok_or("old-format entries extend past the end")?;
            // glibc: the new header follows at ALIGN_CACHE(end), the alignment of
            // struct cache_file_new (8 on 64-bit ABIs, 4 on i386).
            let a8 = (end + 7) & !7;
            let a4 = (end + 3) & !3;
            if new_at(a8) {
                a8
            } else if new_at(a4) {
                a4
            } else {
                // Old format only: strings start right after the entries.
                return Ok(LdCache {
                    data,
                    entries: 16,
                    nlibs: n,
                    entry_size: Self::OLD_ENTRY,
                    strings: end,
                });
            }
        } else if new_at(0) {
            0
        } else {
            return Err("unknown format (bad magic)".into());
        };
        let nlibs =
            usize::try_from(le32(&data, new_off + 20)).map_err(|_| "entry count too large")?;
        // flags: endianness in the low two bits; 0 = unset (old ldconfig), 2 = little.
        let endian = data.get(new_off + 28).copied().unwrap_or(0) & 3;
        if endian != 0 && endian != 2 {
            return Err(format!("not a little-endian cache (flags {endian})"));
        }
        let entries = new_off + Self::NEW_HEADER;
        nlibs
            .checked_mul(Self::NEW_ENTRY)
            .and_then(|b| b.checked_add(entries))
            .filter(|&e| e <= len)
            .ok_or("entries extend past the end")?;
        // Per glibc dl-cache.c, the new format's string offsets are relative to its header.
        Ok(LdCache {
            data,
            entries,
            nlibs,
            entry_size: Self::NEW_ENTRY,
            strings: new_off,
        })
    }

    /// The path of the first entry named `name` with acceptable flags and no hwcap requirement.
    pub(super) fn lookup(&self, name: &[u8], flags: i32) -> Option<PathBuf> {
        // Entries with hwcap bits are variants for particular CPUs (glibc-hwcaps); the baseline
        // entry without them is what every CPU can use.
        (0..self.nlibs).find_map(|i| {
            let e = self.entries + i * self.entry_size;
            let f = i32::from_le_bytes(bytes_at(&self.data, e));
            if f != 1 && f != flags {
                return None;
            }
            if self.entry_size == Self::NEW_ENTRY && le(&self.data, e + 16, 8) != 0 {
                return None;
            }
            let key = self
                .strings
                .checked_add(usize::try_from(le32(&self.data, e + 4)).ok()?)?;
            let end = key.checked_add(name.len())?;
            if self.data.get(key..end)? != name || self.data.get(end) != Some(&0) {
                return None;
            }
            let value = self
                .strings
                .checked_add(usize::try_from(le32(&self.data, e + 8)).ok()?)?;
            let rest = self.data.get(value..)?;
            let rest = &rest[..rest.len().min(MAX_STRING + 1)];
            let n = rest.iter().position(|&b| b == 0)?;
            let p = PathBuf::from(OsStr::from_bytes(&rest[..n]));
            p.is_absolute().then_some(p)
        })
    }
}
