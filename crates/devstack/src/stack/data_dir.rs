//! The stack's data directory: the one given, `./.devstack` by default, or for `--smoke` without
//! `--data-dir` a fresh temporary one, so a smoke run never touches (let alone stops) a stack that
//! runs in the default directory. Whichever it is, this process holds its `devstack.lock` until it
//! exits, and a second stack is refused the directory instead of sharing its Postgres.

use std::{
    fs::File,
    io::{Read as _, Seek as _, Write as _},
    path::{Path, PathBuf},
};

use anyhow::Context as _;

use super::BadArgument;

pub const DEFAULT: &str = ".devstack";
const LOCK_FILE: &str = "devstack.lock";

pub struct DataDir {
    path: PathBuf,
    /// Made for this run: removed when the run ends.
    temporary: bool,
    /// Held (locked) as long as this value lives.
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed and takes its lock; refuses a directory another stack holds.
    pub fn claim(explicit: Option<&Path>, smoke: bool) -> anyhow::Result<Self> {
        let (path, temporary) = match explicit {
            Some(path) => (path.to_owned(), false),
            None if smoke => {
                let name = format!("acs-devstack-smoke-{}", uuid::Uuid::new_v4().simple());
                (std::env::temp_dir().join(name), true)
            }
            None => (PathBuf::from(DEFAULT), false),
        };
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create --data-dir {}", path.display()))?;
        let lock = lock(&path)?;
        if temporary {
            eprintln!("acs-devstack: smoke run in the temporary data dir {}", path.display());
        }
        Ok(Self { path, temporary, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unlocks, and removes the directory if it was made for this run.
    pub fn release(self) {
        let Self { path, temporary, _lock } = self;
        drop(_lock);
        if temporary && let Err(error) = std::fs::remove_dir_all(&path) {
            eprintln!("acs-devstack: could not remove {}: {error}", path.display());
        }
    }
}

/// Locks `dir/devstack.lock` without waiting and writes our pid into it (for the refusal message of
/// the next one). The OS drops the lock when the process ends, however it ends.
fn lock(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            file.read_to_string(&mut holder).ok();
            let holder = holder.trim();
            let holder = if holder.is_empty() { String::new() } else { format!(" (pid {holder})") };
            return Err(BadArgument(format!(
                "--data-dir {} is in use by another acs-devstack{holder}; stop it or pass another --data-dir",
                dir.display()
            ))
            .into());
        }
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(file)
}
