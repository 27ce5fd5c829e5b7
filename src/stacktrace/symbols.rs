//! Naming the frames: the module and the address in its terms, the function from the symbol
//! table (`.symtab`, else `.dynsym`), file:line from the DWARF line tables where the module has
//! them (uncompressed), demangled Rust (`rustc-demangle`) and C++ (`cpp_demangle`) names.
//!
//! Modules are taken one at a time: each is parsed once for all its frames, so a trace costs
//! one symbol table sort and one DWARF index per module it touches.

use super::module::{compressed, Module, Modules};
use super::{Budget, Frame};
use object::{Object, ObjectSection, ObjectSymbol, ObjectSymbolTable};

/// Longest symbol demangled; a longer one (hostile or machine-made) is kept as it is, cut.
const MAX_SYMBOL: usize = 4096;

/// Fills in the frames' modules, symbols and lines. `Err`: the time limit cut it short.
pub(super) fn name_frames(
    frames: &mut [Frame],
    modules: &Modules,
    budget: &Budget,
) -> Result<(), String> {
    // The address to look up: a return address points after its call.
    let lookups: Vec<u64> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| if i == 0 { f.pc } else { f.pc.wrapping_sub(1) })
        .collect();
    let mut by_module: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, f) in frames.iter_mut().enumerate() {
        let Some(m) = modules.mapping(lookups[i]) else {
            continue;
        };
        if !m.path.is_empty() {
            f.module = Some(m.path.clone());
        }
        f.module_offset = lookups[i].wrapping_sub(m.start).wrapping_add(m.offset);
        // The walk loaded every module it stepped through; none is loaded here.
        if let Some(idx) = modules.loaded_index(lookups[i]) {
            match by_module.iter_mut().find(|(m, _)| *m == idx) {
                Some((_, v)) => v.push(i),
                None => by_module.push((idx, vec![i])),
            }
        }
    }
    for (idx, members) in by_module {
        if budget.expired() {
            return Err("the time limit was reached while naming frames".into());
        }
        if let Some(module) = modules.get(idx) {
            name_in_module(module, frames, &lookups, &members);
        }
    }
    Ok(())
}

pub(super) fn name_in_module(
    module: &Module,
    frames: &mut [Frame],
    lookups: &[u64],
    members: &[usize],
) {
    let Ok(elf) =
        object::read::elf::ElfFile64::<object::LittleEndian>::parse(module.data.as_slice())
    else {
        return;
    };
    let symbols = function_symbols(&elf);
    let lines = line_context(&elf);
    for &i in members {
        let addr = lookups[i].wrapping_sub(module.bias);
        let f = &mut frames[i];
        f.module_offset = addr;
        if let Some((start, name)) = containing(&symbols, addr) {
            f.symbol = Some(demangle(name));
            f.symbol_offset = f.pc.wrapping_sub(module.bias).wrapping_sub(start);
        }
        if let Some(ctx) = &lines {
            if let Ok(Some(loc)) = ctx.find_location(addr) {
                f.file = loc.file.map(str::to_string);
                f.line = loc.line;
            }
        }
    }
}

/// The module's functions as (address, size, name), sorted by address: from `.symtab`, or
/// `.dynsym` when it has none (a stripped library names only what it exports).
fn function_symbols<'a>(
    elf: &object::read::elf::ElfFile64<'a, object::LittleEndian>,
) -> Vec<(u64, u64, &'a str)> {
    let table = elf.symbol_table().or_else(|| elf.dynamic_symbol_table());
    let mut out: Vec<(u64, u64, &'a str)> = table
        .into_iter()
        .flat_map(|t| t.symbols())
        .filter(|s| s.is_definition() && s.kind() == object::SymbolKind::Text)
        .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?)))
        .filter(|(_, _, name)| !name.is_empty())
        .collect();
    // Sized symbols first among those at one address: an alias without a size names less.
    out.sort_unstable_by_key(|&(addr, size, _)| (addr, size == 0));
    out.dedup_by_key(|s| s.0);
    out
}

/// The function that holds `addr`: the last one starting at or before it, if `addr` lies within
/// its size (a symbol without a size is taken to reach the next one).
fn containing<'a>(symbols: &[(u64, u64, &'a str)], addr: u64) -> Option<(u64, &'a str)> {
    let i = symbols.partition_point(|s| s.0 <= addr).checked_sub(1)?;
    let (start, size, name) = symbols[i];
    (size == 0 || addr - start < size).then_some((start, name))
}

/// An addr2line index of the module's DWARF, when it has uncompressed line tables.
fn line_context<'a>(
    elf: &object::read::elf::ElfFile64<'a, object::LittleEndian>,
) -> Option<addr2line::Context<gimli::EndianSlice<'a, gimli::LittleEndian>>> {
    elf.section_by_name(".debug_info")?;
    let load = |id: gimli::SectionId| -> Result<gimli::EndianSlice<'a, gimli::LittleEndian>, ()> {
        let data = match elf.section_by_name(id.name()) {
            Some(s) if !compressed(&s) => s.data().unwrap_or(&[]),
            _ => &[],
        };
        Ok(gimli::EndianSlice::new(data, gimli::LittleEndian))
    };
    let dwarf = gimli::Dwarf::load(load).ok()?;
    addr2line::Context::from_dwarf(dwarf).ok()
}

/// A symbol demangled where it is a Rust or C++ one, else as it is.
pub(super) fn demangle(name: &str) -> String {
    if name.len() > MAX_SYMBOL {
        let mut end = MAX_SYMBOL;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        return format!("{}...", &name[..end]);
    }
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        // `{:#}`: without the trailing hash.
        return format!("{d:#}");
    }
    if name.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(name) {
            if let Ok(d) = sym.demangle() {
                return d;
            }
        }
    }
    name.to_string()
}
