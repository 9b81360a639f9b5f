//! A small JSON map kept in the state directory (what the client remembers between runs: the
//! calls API of each server, when History was last looked at, the status to put back). Reads
//! never fail the app: a missing file is empty, an unreadable one is logged and treated as
//! empty. Writes replace the file whole, so a reader (or a crash) never sees half of one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One JSON object of `String` keys to `V`, in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    path: PathBuf,
    /// What is kept there, for log lines.
    what: &'static str,
}

impl StateFile {
    /// The file `name` in `dir`, holding `what`.
    pub fn new(dir: &Path, name: &str, what: &'static str) -> Self {
        StateFile {
            path: dir.join(name),
            what,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Everything in the file.
    pub fn read<V: DeserializeOwned>(&self) -> BTreeMap<String, V> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::warn!(path = %self.path.display(), error = %err, what = self.what, "ignoring an unreadable state file");
                BTreeMap::new()
            }),
            Err(_) => BTreeMap::new(),
        }
    }

    /// The value of `key`.
    pub fn get<V: DeserializeOwned>(&self, key: &str) -> Option<V> {
        self.read::<V>().remove(key)
    }

    /// Sets `key` to `value`.
    pub fn set<V: DeserializeOwned + Serialize>(&self, key: &str, value: V) {
        let mut map = self.read::<V>();
        map.insert(key.to_owned(), value);
        self.write(&map);
    }

    /// Removes `key`, if it is there.
    pub fn remove<V: DeserializeOwned + Serialize>(&self, key: &str) {
        let mut map = self.read::<V>();
        if map.remove(key).is_some() {
            self.write(&map);
        }
    }

    /// Writes a new file and renames it over the old one; failures are logged.
    fn write<V: Serialize>(&self, map: &BTreeMap<String, V>) {
        let result = (|| -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let text = serde_json::to_vec_pretty(map).map_err(std::io::Error::other)?;
            let temporary = self
                .path
                .with_extension(format!("json.{}", std::process::id()));
            std::fs::write(&temporary, text)?;
            std::fs::rename(&temporary, &self.path)
        })();
        if let Err(err) = result {
            tracing::warn!(path = %self.path.display(), error = %err, what = self.what, "cannot write a state file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_a_new_instance_and_a_bad_file_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path(), "x.json", "test values");
        assert_eq!(file.get::<u32>("a"), None);
        file.set("a", 1u32);
        file.set("b", 2u32);
        let again = StateFile::new(dir.path(), "x.json", "test values");
        assert_eq!(again.get::<u32>("a"), Some(1));
        again.remove::<u32>("a");
        assert_eq!(file.read::<u32>().len(), 1);
        std::fs::write(file.path(), "{not json").unwrap();
        assert!(file.read::<u32>().is_empty());
        file.set("c", 3u32);
        assert_eq!(file.get::<u32>("c"), Some(3), "a bad file is replaced");
    }
}
