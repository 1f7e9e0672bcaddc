//! The gateway's host key: one Ed25519 key, made on the first start and
//! kept in OpenSSH's private-key format (as `ssh-keygen` writes it) with
//! mode 0600, so that clients see the same host key every time and
//! `known_hosts` works. Where it is kept: `$WIRELAB_STATE_DIR`, else
//! `$XDG_STATE_HOME/wirelab`, else `~/.local/state/wirelab`, as
//! `ssh_host_ed25519_key`; `--host-key FILE` names another file.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, HashAlg, PrivateKey};

use crate::GatewayError;

/// The file's name in the state directory.
pub const FILE_NAME: &str = "ssh_host_ed25519_key";
/// Largest host key file read (an Ed25519 key is about 400 bytes).
const FILE_BYTES_MAX: u64 = 64 * 1024;

/// The default place of the host key, from the environment.
pub fn default_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let dir = if let Some(dir) = var("WIRELAB_STATE_DIR") {
        PathBuf::from(dir)
    } else if let Some(state) = var("XDG_STATE_HOME") {
        PathBuf::from(state).join("wirelab")
    } else {
        PathBuf::from(var("HOME")?).join(".local/state/wirelab")
    };
    Some(dir.join(FILE_NAME))
}

/// The key at `path`, made there first if there is none. `made` tells
/// whether it was just made.
pub fn load_or_create(path: &Path) -> Result<(PrivateKey, bool), GatewayError> {
    let err = |what: &str, e: &dyn std::fmt::Display| GatewayError::HostKey {
        path: path.to_path_buf(),
        why: format!("{what}: {e}"),
    };
    match std::fs::metadata(path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(err(
                    "refused",
                    &format!(
                        "its mode is {:o}; a private key must be readable by its owner only (chmod 600)",
                        meta.permissions().mode() & 0o777
                    ),
                ));
            }
            if meta.len() > FILE_BYTES_MAX {
                return Err(err("refused", &"it is too large to be a host key"));
            }
            let text = std::fs::read_to_string(path).map_err(|e| err("cannot read it", &e))?;
            let key = PrivateKey::from_openssh(&text)
                .map_err(|e| err("not an OpenSSH private key", &e))?;
            if key.is_encrypted() {
                return Err(err(
                    "refused",
                    &"it is encrypted; the gateway needs it without a passphrase",
                ));
            }
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
                .map_err(|e| err("cannot make a key", &e))?;
            let text = key
                .to_openssh(LineEnding::LF)
                .map_err(|e| err("cannot encode the key", &e))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| err("cannot make its directory", &e))?;
            }
            // create_new: two gateways starting at once do not overwrite
            // each other's key.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| err("cannot create it", &e))?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| err("cannot write it", &e))?;
            Ok((key, true))
        }
        Err(e) => Err(err("cannot open it", &e)),
    }
}

/// `ED25519 SHA256:...`, as `ssh-keygen -l` and the client show it.
pub fn fingerprint(key: &PrivateKey) -> String {
    format!(
        "{} {}",
        key.algorithm()
            .as_str()
            .trim_start_matches("ssh-")
            .to_ascii_uppercase(),
        key.public_key().fingerprint(HashAlg::Sha256)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_read_back() {
        let dir = std::env::temp_dir().join(format!("wirelab-hostkey-{}", std::process::id()));
        let path = dir.join("sub").join(FILE_NAME);
        let (made, fresh) = load_or_create(&path).unwrap();
        assert!(fresh);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let (read, fresh) = load_or_create(&path).unwrap();
        assert!(!fresh);
        assert_eq!(fingerprint(&made), fingerprint(&read));
        assert!(fingerprint(&read).starts_with("ED25519 SHA256:"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
