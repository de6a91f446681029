//! Where kse's own code sits, and which files kse may load without being told
//! their path.
//!
//! When the caller names no model directory or no ONNX Runtime library, kse
//! looks for them itself: in an environment variable, then relative to the
//! file that holds its code (see [`crate::default_model`] and
//! [`crate::runtime`]). A file found that way is used only if no user other
//! than the caller and root can change what the path leads to ([`check`]):
//! every directory from `/` down to it, and the file itself, must be owned by
//! root or by the process's effective user and not be writable by group or
//! others (the rule of OpenSSH's `StrictModes`), except that a directory on
//! the way may be a sticky one like `/tmp`, where only an entry's owner can
//! rename or remove it (and the next step's owner is checked). Symbolic links
//! are followed and the directories they lead through are checked the same way.
//!
//! The directories searched beside kse's code ([`search_dirs`]) go up from
//! the code file's directory and stop below the first one others can write to
//! (so `/tmp/models` is never looked at), and there are none when that
//! directory sits directly in such a place: a copy of libkse extracted into a
//! fresh temporary directory (as the Java jar does) searches nothing beside it.
//!
//! Paths the caller passes explicitly (`model_dir`, `ort_library_path`) are
//! the caller's decision and are not checked.
//!
//! Public for the `kse` program (which finds its TF Hub tool the same way);
//! not a stable API.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// Why a user other than the caller or root could change what `path` names,
/// or `Ok` when none can. The message names the offending directory or file.
pub fn check(path: &Path) -> Result<(), String> {
    let lexical = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    check_components(&lexical)?;
    let real = std::fs::canonicalize(&lexical).map_err(|e| format!("{}: {e}", lexical.display()))?;
    if real != lexical {
        check_components(&real)?;
    }
    Ok(())
}

fn check_components(path: &Path) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let parts: Vec<Component> = path.components().collect();
    let mut here = PathBuf::new();
    for (i, part) in parts.iter().enumerate() {
        here.push(part);
        let meta = std::fs::symlink_metadata(&here).map_err(|e| format!("{}: {e}", here.display()))?;
        if meta.uid() != 0 && meta.uid() != me {
            return Err(format!("{} belongs to another user (uid {})", here.display(), meta.uid()));
        }
        // A link's own mode means nothing; where it leads is checked on the resolved path.
        if meta.file_type().is_symlink() {
            continue;
        }
        let sticky_dir_on_the_way = meta.is_dir() && meta.mode() & 0o1000 != 0 && i + 1 < parts.len();
        if !sticky_dir_on_the_way {
            shared_writable(&here, meta.mode())?;
        }
    }
    Ok(())
}

/// `Err` naming who else can write to `path`, given its mode.
fn shared_writable(path: &Path, mode: u32) -> Result<(), String> {
    if mode & 0o022 == 0 {
        return Ok(());
    }
    let who = if mode & 0o002 != 0 { "every user" } else { "its group" };
    Err(format!("{} is writable by {who} (mode {:04o})", path.display(), mode & 0o7777))
}

/// Directories to search beside `file` (kse's code), nearest first, at most
/// `levels`: its own directory and those above it, up to and not including
/// the first that others can write to. `Err` says why there are none: `file`
/// fails [`check`], or its directory sits directly in a directory others can
/// write to (a fresh temporary directory, where extracted copies live).
pub fn search_dirs(file: &Path, levels: usize) -> Result<Vec<PathBuf>, String> {
    check(file)?;
    let file = std::fs::canonicalize(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let shared = |d: &Path| match std::fs::metadata(d) {
        Ok(meta) => shared_writable(d, meta.mode()),
        Err(e) => Err(format!("{}: {e}", d.display())),
    };
    let Some(dir) = file.parent() else { return Ok(Vec::new()) };
    shared(dir)?;
    if let Some(Err(why)) = dir.parent().map(shared) {
        return Err(format!("{} is in a temporary directory: {why}", file.display()));
    }
    Ok(dir.ancestors().take(levels).take_while(|d| shared(d).is_ok()).map(Path::to_path_buf).collect())
}

/// The file that holds kse's code: the shared library (`libkse.so`), or the
/// executable that linked `libkse.a`. Absolute and with symbolic links resolved.
pub fn code_file() -> Option<PathBuf> {
    let addr = code_file as fn() -> Option<PathBuf> as usize;
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables and fills `info`.
    let found = unsafe { libc::dladdr(addr as *const libc::c_void, &mut info) } != 0 && !info.dli_fname.is_null();
    // SAFETY: dli_fname is a NUL-terminated string owned by the loader.
    let named = found.then(|| PathBuf::from(OsStr::from_bytes(unsafe { std::ffi::CStr::from_ptr(info.dli_fname) }.to_bytes())));
    // The loader keeps the name it was given: a relative one (dlopen of
    // "lib/libkse.so") or a bare program name says nothing about where the
    // file is now, so ask the kernel's map of this process instead.
    let file = named.filter(|p| p.is_absolute()).or_else(|| mapped_file(addr)).or_else(|| std::env::current_exe().ok())?;
    Some(std::fs::canonicalize(&file).unwrap_or(file))
}

/// The file mapped at `addr` in this process, from `/proc/self/maps`.
fn mapped_file(addr: usize) -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let mut fields = line.splitn(6, ' ');
        let (lo, hi) = fields.next()?.split_once('-')?;
        let (lo, hi) = (usize::from_str_radix(lo, 16).ok()?, usize::from_str_radix(hi, 16).ok()?);
        let path = fields.nth(4)?.trim_start();
        (lo <= addr && addr < hi && path.starts_with('/')).then(|| PathBuf::from(path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// `d/sub/file` in a fresh 0700 directory `d` that sits in a sticky,
    /// world-writable one like /tmp (made here, so the system's own
    /// temporary directory does not matter). Remove with [`clean`].
    fn tree(name: &str) -> (PathBuf, PathBuf, PathBuf) {
        let base = std::env::temp_dir().join(format!("kse-trust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let d = base.join("tmp/d");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        chmod(&base, 0o700);
        chmod(&base.join("tmp"), 0o1777);
        chmod(&d, 0o700);
        chmod(&d.join("sub"), 0o755);
        std::fs::write(d.join("sub/file"), b"x").unwrap();
        chmod(&d.join("sub/file"), 0o644);
        (d.clone(), d.join("sub"), d.join("sub/file"))
    }

    fn clean(d: &Path) {
        std::fs::remove_dir_all(d.parent().unwrap().parent().unwrap()).unwrap();
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn writable_directories_and_files_are_refused() {
        let (d, sub, f) = tree("modes");
        assert_eq!(check(&f), Ok(()));
        chmod(&sub, 0o777);
        let why = check(&f).unwrap_err();
        assert!(why.contains(&format!("{} is writable by every user (mode 0777)", sub.display())), "{why}");
        chmod(&sub, 0o775);
        let why = check(&f).unwrap_err();
        assert!(why.contains("writable by its group (mode 0775)"), "{why}");
        // Sticky, like /tmp: allowed on the way...
        chmod(&sub, 0o1777);
        assert_eq!(check(&f), Ok(()));
        // ...but never as the path itself.
        let why = check(&sub).unwrap_err();
        assert!(why.contains("mode 1777"), "{why}");
        chmod(&sub, 0o755);
        chmod(&f, 0o666);
        let why = check(&f).unwrap_err();
        assert!(why.contains(&format!("{} is writable by every user", f.display())), "{why}");
        clean(&d);
    }

    #[test]
    fn a_link_is_judged_by_where_it_leads() {
        let (d, sub, f) = tree("link");
        chmod(&sub, 0o777);
        let link = d.join("link");
        std::os::unix::fs::symlink(&sub, &link).unwrap();
        let why = check(&link.join("file")).unwrap_err();
        assert!(why.contains(&format!("{} is writable by every user", sub.display())), "{why}");
        assert!(f.exists());
        clean(&d);
    }

    #[test]
    fn other_users_files_are_refused() {
        // Only root can give a file away; elsewhere this test has nothing to show.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let (d, _, f) = tree("owner");
        std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
        let why = check(&f).unwrap_err();
        assert!(why.contains("belongs to another user (uid 65534)"), "{why}");
        clean(&d);
    }

    #[test]
    fn search_stops_below_shared_directories_and_skips_temporary_ones() {
        let (d, sub, f) = tree("search");
        // d is a fresh directory in the temporary directory, sub/ a tree in it.
        let deeper = sub.join("lib");
        std::fs::create_dir(&deeper).unwrap();
        chmod(&deeper, 0o755);
        let lib = deeper.join("libkse.so");
        std::fs::write(&lib, b"x").unwrap();
        chmod(&lib, 0o644);
        assert_eq!(search_dirs(&lib, 8), Ok(vec![deeper.clone(), sub.clone(), d.clone()]));
        assert_eq!(search_dirs(&lib, 2), Ok(vec![deeper.clone(), sub.clone()]));
        // A copy directly in a fresh temporary directory searches nothing.
        let top = d.join("libkse.so");
        std::fs::copy(&f, &top).unwrap();
        let why = search_dirs(&top, 8).unwrap_err();
        assert!(why.contains(&format!("{} is in a temporary directory", top.display())), "{why}");
        // A shared directory on the way ends the search below it.
        chmod(&d, 0o1777);
        assert_eq!(search_dirs(&lib, 8), Ok(vec![deeper.clone(), sub.clone()]));
        chmod(&sub, 0o1777);
        let why = search_dirs(&lib, 8).unwrap_err();
        assert!(why.contains("is in a temporary directory"), "{why}");
        chmod(&deeper, 0o777);
        assert!(search_dirs(&lib, 8).unwrap_err().contains("writable by every user (mode 0777)"));
        clean(&d);
    }

    #[test]
    fn code_file_is_this_test_program() {
        let file = code_file().expect("code file");
        assert!(file.is_absolute());
        assert_eq!(file, std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap());
    }
}
