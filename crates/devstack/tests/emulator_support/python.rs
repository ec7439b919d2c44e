//! A Python interpreter with Microsoft's `azure-communication-identity` SDK: `ACSGW_PYTHON` when
//! set, otherwise a venv under the target directory, created once (under a file lock, as several
//! test processes may race) and reused afterwards.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    process::{Command, Output},
};

pub const REQUIREMENT: &str = "azure-communication-identity==1.5.0";
const OVERRIDE: &str = "ACSGW_PYTHON";

/// The interpreter to run SDK scripts with, or a message saying what to install.
pub fn interpreter() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os(OVERRIDE) {
        return Ok(PathBuf::from(python));
    }
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(&root).map_err(|error| format!("cannot create {}: {error}", root.display()))?;
    let lock = File::create(root.join("python-venv.lock")).map_err(|error| format!("venv lock: {error}"))?;
    // Held until `lock` is dropped, when this function returns.
    lock.lock().map_err(|error| format!("cannot lock the venv: {error}"))?;
    let venv = root.join("python-venv");
    let marker = venv.join("acsgw-requirement.txt");
    let python = venv_python(&venv);
    if fs::read_to_string(&marker).is_ok_and(|installed| installed == REQUIREMENT) && python.exists() {
        return Ok(python);
    }
    create_venv(&venv, &python)?;
    fs::write(&marker, REQUIREMENT).map_err(|error| format!("cannot write {}: {error}", marker.display()))?;
    Ok(python)
}

fn create_venv(venv: &Path, python: &Path) -> Result<(), String> {
    if venv.exists() {
        // A venv without the marker is a half-finished one from an interrupted run.
        fs::remove_dir_all(venv).map_err(|error| format!("cannot remove {}: {error}", venv.display()))?;
    }
    let system = system_python()?;
    run(Command::new(&system).arg("-m").arg("venv").arg(venv)).map_err(|output| {
        format!("`{system} -m venv` failed (on Debian/Ubuntu: apt-get install python3-venv):\n{output}")
    })?;
    run(Command::new(python).args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
        REQUIREMENT,
    ]))
    .map_err(|output| format!("pip could not install {REQUIREMENT} (is PyPI reachable?):\n{output}"))?;
    Ok(())
}

/// `python3`, or `python` when that is a Python 3.
fn system_python() -> Result<String, String> {
    for candidate in ["python3", "python"] {
        let is_python3 = Command::new(candidate)
            .args(["-c", "import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)"])
            .status()
            .is_ok_and(|status| status.success());
        if is_python3 {
            return Ok(candidate.to_owned());
        }
    }
    Err(format!(
        "no Python 3 found: install python3 with venv and pip (Debian/Ubuntu: apt-get install python3 \
         python3-venv python3-pip), or set {OVERRIDE} to an interpreter that has {REQUIREMENT}"
    ))
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) { venv.join("Scripts").join("python.exe") } else { venv.join("bin").join("python") }
}

/// Runs a command to completion; on failure, its combined output as the error.
fn run(command: &mut Command) -> Result<Output, String> {
    let output = command.output().map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{command:?} exited with {}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
