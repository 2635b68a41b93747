//! Loading tenants from a fixture directory: `DIR/<tenant>/<collection path>/<any>.json`,
//! one object per file, in UTF-8, UTF-8 with BOM or UTF-16 (LE/BE, with BOM).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::Value;

use crate::collections::{COLLECTIONS, CollectionSpec};
use crate::store::{TenantCreds, TenantSeed};

/// Optional `DIR/<tenant>/tenant.json`.
#[derive(Deserialize, Default)]
struct TenantFile {
    id: Option<String>,
    name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Why a fixture file's bytes are not text.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid UTF-8: {0}")]
    Utf8(#[from] std::string::FromUtf8Error),
    #[error("invalid UTF-16: odd number of bytes")]
    OddUtf16Length,
    #[error("invalid UTF-16: {0}")]
    Utf16(#[from] std::char::DecodeUtf16Error),
}

/// Decode a fixture file's bytes to text, honouring a byte-order mark.
pub fn decode_text(bytes: &[u8]) -> Result<String, DecodeError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Ok(String::from_utf8(rest.to_vec())?);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    // Windows tools sometimes write UTF-16LE without a BOM: ASCII then has every odd byte 0.
    if bytes.len() >= 4 && bytes[0] != 0 && bytes[1] == 0 && bytes[3] == 0 {
        return decode_utf16(bytes, u16::from_le_bytes);
    }
    Ok(String::from_utf8(bytes.to_vec())?)
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(DecodeError::OddUtf16Length);
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    Ok(char::decode_utf16(units).collect::<Result<String, _>>()?)
}

/// Parse one fixture file into objects (a file holding a Graph list response `{"value":[..]}`
/// or a JSON array yields each element).
pub fn parse_file(path: &Path) -> anyhow::Result<Vec<Value>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = decode_text(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| anyhow::anyhow!("{}: invalid JSON: {e}", path.display()))?;
    Ok(match v {
        Value::Array(a) => a,
        Value::Object(mut m)
            if !m.contains_key("id") && m.get("value").is_some_and(Value::is_array) =>
        {
            match m.remove("value") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            }
        }
        other @ Value::Object(_) => vec![other],
        _ => bail!("{}: expected a JSON object", path.display()),
    })
}

/// A deterministic GUID-shaped id from a name (fixture tenants without an explicit id).
pub fn stable_guid(seed: &str) -> String {
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for b in seed.bytes() {
        h1 = (h1 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        h2 = (h2 ^ b as u64)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(7);
    }
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&h1.to_be_bytes());
    bytes[8..].copy_from_slice(&h2.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out)?;
        } else if p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// The collection a file belongs to: the longest registered path its directory starts with.
fn collection_for(rel_dir: &str) -> Option<&'static CollectionSpec> {
    COLLECTIONS
        .iter()
        .filter(|c| {
            let p = c.path.to_ascii_lowercase();
            let d = rel_dir.to_ascii_lowercase();
            d == p || d.starts_with(&format!("{p}/"))
        })
        .max_by_key(|c| c.path.len())
}

/// What loading one fixture tenant found, for the start-up log and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FixtureReport {
    pub tenant: String,
    /// Objects per collection path.
    pub per_collection: BTreeMap<&'static str, usize>,
    /// Objects whose id an earlier file of the same collection already had. Without
    /// `fresh_ids` the later one replaces the earlier.
    pub duplicate_ids: usize,
    /// Duplicates loaded under a new id (`fresh_ids`).
    pub renamed: usize,
}

impl std::fmt::Display for FixtureReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: usize = self.per_collection.values().sum();
        write!(f, "tenant '{}': {total} objects", self.tenant)?;
        for (path, n) in &self.per_collection {
            write!(f, ", {path}={n}")?;
        }
        if self.duplicate_ids > 0 {
            write!(
                f,
                "; {} shared an id with an earlier file ({})",
                self.duplicate_ids,
                if self.renamed > 0 {
                    "loaded under new ids"
                } else {
                    "the later replaced the earlier; --fresh-ids loads both"
                }
            )?;
        }
        Ok(())
    }
}

/// Every tenant under `dir`, in name order, with what was found. With `fresh_ids`, objects
/// that share an id with an earlier file of the same collection are loaded as distinct
/// objects under new ids instead of replacing it.
pub fn load_dir(dir: &Path, fresh_ids: bool) -> anyhow::Result<Vec<(TenantSeed, FixtureReport)>> {
    if !dir.is_dir() {
        bail!("fixture directory {} does not exist", dir.display());
    }
    let mut tenant_dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    tenant_dirs.sort();
    let mut seeds = Vec::new();
    for tdir in tenant_dirs {
        let dir_name = tdir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let meta_path = tdir.join("tenant.json");
        let meta: TenantFile = if meta_path.is_file() {
            let bytes = std::fs::read(&meta_path)
                .with_context(|| format!("reading {}", meta_path.display()))?;
            let text =
                decode_text(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", meta_path.display()))?;
            serde_json::from_str(text.trim_start_matches('\u{feff}'))
                .map_err(|e| anyhow::anyhow!("{}: invalid JSON: {e}", meta_path.display()))?
        } else {
            TenantFile::default()
        };
        let name = meta.name.unwrap_or_else(|| dir_name.clone());
        let creds = TenantCreds {
            id: meta
                .id
                .unwrap_or_else(|| stable_guid(&format!("tenant:{name}"))),
            client_id: meta
                .client_id
                .unwrap_or_else(|| stable_guid(&format!("client:{name}"))),
            client_secret: meta.client_secret.unwrap_or_else(|| {
                format!(
                    "sim-{name}-{}",
                    &stable_guid(&format!("secret:{name}")).replace('-', "")[..16]
                )
            }),
            name,
        };
        let mut files = Vec::new();
        json_files(&tdir, &mut files)?;
        let mut objects = Vec::new();
        let mut report = FixtureReport {
            tenant: creds.name.clone(),
            ..FixtureReport::default()
        };
        let mut seen: HashMap<(&'static str, String), PathBuf> = HashMap::new();
        for f in files {
            if f == meta_path {
                continue;
            }
            let rel = f
                .parent()
                .and_then(|p| p.strip_prefix(&tdir).ok())
                .map(|p| {
                    p.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_default();
            let Some(spec) = collection_for(&rel) else {
                tracing::warn!(file = %f.display(), "skipping fixture: '{rel}' is not a supported collection");
                continue;
            };
            for mut obj in parse_file(&f)? {
                let Some(map) = obj.as_object_mut() else {
                    bail!("{}: expected JSON objects", f.display());
                };
                if let Some(id) = map
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|i| !i.is_empty())
                {
                    let key = (spec.home(), id.to_ascii_lowercase());
                    if let Some(first) = seen.get(&key) {
                        report.duplicate_ids += 1;
                        tracing::warn!(
                            file = %f.display(),
                            earlier = %first.display(),
                            id,
                            "fixture shares an id with an earlier file{}",
                            if fresh_ids { "; loading it under a new id" } else { "; it replaces the earlier (use --fresh-ids to load both)" }
                        );
                        if fresh_ids {
                            map.remove("id");
                            report.renamed += 1;
                        }
                    } else {
                        seen.insert(key, f.clone());
                    }
                }
                *report.per_collection.entry(spec.home()).or_default() += 1;
                objects.push((spec, obj));
            }
        }
        tracing::info!("fixtures loaded: {report}");
        seeds.push((
            TenantSeed {
                creds,
                objects,
                singletons: Vec::new(),
            },
            report,
        ));
    }
    Ok(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_boms_and_rejects_broken_utf16() {
        assert_eq!(decode_text(b"\xEF\xBB\xBF{}").unwrap(), "{}");
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("{\"a\":\"é\"}".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(&le).unwrap(), "{\"a\":\"é\"}");
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("{}".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode_text(&be).unwrap(), "{}");
        assert!(decode_text(&[0xFF, 0xFE, 0x7B]).is_err());
        assert!(decode_text(&[0xFF, 0xFE, 0x00, 0xD8, 0x7B, 0x00]).is_err());
        assert!(decode_text(&[0xC3, 0x28]).is_err());
    }

    #[test]
    fn collection_for_prefers_longest_match() {
        assert_eq!(
            collection_for("deviceManagement/configurationPolicies")
                .unwrap()
                .path,
            "deviceManagement/configurationPolicies"
        );
        assert_eq!(
            collection_for("devicemanagement/configurationPolicies/windows")
                .unwrap()
                .path,
            "deviceManagement/configurationPolicies"
        );
        assert!(collection_for("deviceManagement/unknownThings").is_none());
        assert_eq!(stable_guid("x"), stable_guid("x"));
    }
}
