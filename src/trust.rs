//! Where kse's own code sits, and which files kse may load without being told
//! their path.
//!
//! When the caller names no model directory or no ONNX Runtime library, kse
//! looks for them itself: in an environment variable, then relative to the
//! file that holds its code (see [`crate::default_model`] and
//! [`crate::runtime`]). A file found that way is used only if no user other
//! than the caller and root can change what the path leads to: every
//! directory from `/` down to it, and the file itself, must be owned by root
//! or by the process's effective user and not be writable by group or others
//! (the rule of OpenSSH's `StrictModes`). Symbolic links are followed and the
//! directories they lead through are checked the same way.
//!
//! Under [`Ancestors::StickyAllowed`] a directory on the way that has the
//! sticky bit (like `/tmp`) may be writable by others: there only an entry's
//! owner can rename or remove it, and the next step's owner is checked. Under
//! [`Ancestors::Strict`] it may not, so nothing under a temporary or shared
//! directory is ever searched.
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

/// How directories on the way to a path may be shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ancestors {
    /// No directory on the way may be writable by group or others.
    Strict,
    /// As `Strict`, except that sticky directories (like `/tmp`) may be.
    StickyAllowed,
}

/// Why a user other than the caller or root could change what `path` names,
/// or `Ok` when none can. The message names the offending directory or file.
pub fn check(path: &Path, ancestors: Ancestors) -> Result<(), String> {
    let lexical = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    check_components(&lexical, ancestors)?;
    let real = std::fs::canonicalize(&lexical).map_err(|e| format!("{}: {e}", lexical.display()))?;
    if real != lexical {
        check_components(&real, ancestors)?;
    }
    Ok(())
}

fn check_components(path: &Path, ancestors: Ancestors) -> Result<(), String> {
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
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 == 0 {
            continue;
        }
        let shared_sticky_dir = meta.is_dir() && mode & 0o1000 != 0 && i + 1 < parts.len();
        if ancestors == Ancestors::StickyAllowed && shared_sticky_dir {
            continue;
        }
        let who = if mode & 0o002 != 0 { "every user" } else { "its group" };
        return Err(format!("{} is writable by {who} (mode {mode:04o})", here.display()));
    }
    Ok(())
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

    fn private_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kse-trust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn own_private_directory_under_tmp_passes_only_with_sticky_allowed() {
        let d = private_dir("own");
        let f = d.join("file");
        std::fs::write(&f, b"x").unwrap();
        chmod(&f, 0o644);
        assert_eq!(check(&f, Ancestors::StickyAllowed), Ok(()));
        // std::env::temp_dir() is /tmp here: sticky and writable by everyone.
        if std::fs::metadata(std::env::temp_dir()).unwrap().mode() & 0o1002 == 0o1002 {
            let why = check(&f, Ancestors::Strict).unwrap_err();
            assert!(why.contains("writable by every user"), "{why}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn writable_directories_and_files_are_refused() {
        let d = private_dir("modes");
        let sub = d.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let f = sub.join("file");
        std::fs::write(&f, b"x").unwrap();
        chmod(&f, 0o644);
        chmod(&sub, 0o777);
        let why = check(&f, Ancestors::StickyAllowed).unwrap_err();
        assert!(why.contains(&format!("{} is writable by every user (mode 0777)", sub.display())), "{why}");
        chmod(&sub, 0o775);
        let why = check(&f, Ancestors::StickyAllowed).unwrap_err();
        assert!(why.contains("writable by its group (mode 0775)"), "{why}");
        // Sticky, like /tmp: allowed on the way, refused under Strict.
        chmod(&sub, 0o1777);
        assert_eq!(check(&f, Ancestors::StickyAllowed), Ok(()));
        // ...but never for the final component itself.
        let why = check(&sub, Ancestors::StickyAllowed).unwrap_err();
        assert!(why.contains("mode 1777"), "{why}");
        chmod(&sub, 0o755);
        chmod(&f, 0o666);
        let why = check(&f, Ancestors::StickyAllowed).unwrap_err();
        assert!(why.contains(&format!("{} is writable by every user", f.display())), "{why}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_link_is_judged_by_where_it_leads() {
        let d = private_dir("link");
        let open = d.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::write(open.join("file"), b"x").unwrap();
        chmod(&open.join("file"), 0o644);
        chmod(&open, 0o777);
        let link = d.join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let why = check(&link.join("file"), Ancestors::StickyAllowed).unwrap_err();
        assert!(why.contains(&format!("{} is writable by every user", open.display())), "{why}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn other_users_files_are_refused() {
        // Only root can give a file away; elsewhere this test has nothing to show.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let d = private_dir("owner");
        let f = d.join("file");
        std::fs::write(&f, b"x").unwrap();
        std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
        let why = check(&f, Ancestors::StickyAllowed).unwrap_err();
        assert!(why.contains("belongs to another user (uid 65534)"), "{why}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn code_file_is_this_test_program() {
        let file = code_file().expect("code file");
        assert!(file.is_absolute());
        assert_eq!(file, std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap());
    }
}
