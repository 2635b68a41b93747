//! Export and import archives: a zip of one JSON file per Graph object in a stable, readable
//! layout with a manifest of hashes, and the reading of such a zip — or of a folder of Intune
//! JSON exports as other tools and the admin center write them — back into objects.
//!
//! Layout of an export:
//! ```text
//! manifest.json                                   what was exported, one entry per file
//! objects/<policyType>/<display name>--<id>.json  the object as Graph shapes it, with `id`
//!                                                 and `assignments`
//! ```
//! Reading takes each file on its own: text in UTF-8 (with or without a byte-order mark) or
//! UTF-16; the policy type from `@odata.context`, a documented `@odata.type`, the folder the
//! file is in (a registry key or alias, or the folder names common export tools use), or the
//! object's shape. What cannot be read is a [`FileError`] with a code and a reason — never
//! silently dropped.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::compare::Captured;
use super::normalize::{self, Normalized};
use super::registry::{self, Contract, PolicyType};

/// The manifest's `format`.
pub const FORMAT: &str = "policyvault-export";
pub const MANIFEST: &str = "manifest.json";

/// What an export holds, as its manifest says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// `snapshot` or `backup_set`.
    pub kind: String,
    pub id: uuid::Uuid,
    pub name: String,
    pub tenant_id: uuid::Uuid,
    pub tenant_name: String,
    pub exported_at: DateTime<Utc>,
    pub objects: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestEntry {
    pub file: String,
    pub policy_type: String,
    pub graph_id: String,
    pub display_name: String,
    /// The normalized content hash PolicyVault stores.
    pub content_hash: String,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
}

/// One object to export: as the diff engine reads it, with its stored content hash.
#[derive(Debug, Clone, Copy)]
pub struct ExportObject<'a> {
    pub object: Captured<'a>,
    pub content_hash: &'a str,
}

/// What is exported, for the manifest.
#[derive(Debug, Clone)]
pub struct ExportMeta {
    pub kind: &'static str,
    pub id: uuid::Uuid,
    pub name: String,
    pub tenant_id: uuid::Uuid,
    pub tenant_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a readable zip archive: {0}")]
    NotAZip(String),
    #[error("the archive holds more than {0} files")]
    TooManyFiles(usize),
    #[error("the archive unpacks to more than {0} bytes")]
    TooLarge(u64),
    #[error("the archive could not be written: {0}")]
    Write(String),
}

/// Why one file of an import was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub code: &'static str,
    pub message: String,
}

impl FileError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The file name of an object in an export: readable, stable, unique per object.
pub fn object_file(policy_type: &str, display_name: &str, graph_id: &str) -> String {
    fn clean(text: &str, max: usize) -> String {
        let mut out: String = text
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ' | '(' | ')') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        out = out.trim().trim_matches('.').to_string();
        out.chars().take(max).collect()
    }
    let name = clean(display_name, 80);
    let name = if name.is_empty() {
        "unnamed".into()
    } else {
        name
    };
    // Contained objects' ids are `{parent}/{id}`.
    let id = clean(&graph_id.replace('/', "~"), 120);
    format!("objects/{policy_type}/{name}--{id}.json")
}

/// The file's JSON: the object as Graph shapes it, `id` first, `assignments` last.
pub fn object_json(o: &Captured<'_>) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), Value::String(o.graph_id.to_string()));
    if let Value::Object(payload) = o.payload {
        for (k, v) in payload {
            if k != "id" && k != "assignments" {
                map.insert(k.clone(), v.clone());
            }
        }
    }
    map.insert("assignments".into(), o.assignments.clone());
    Value::Object(map)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Writes an export zip of `objects`.
pub fn write_zip(meta: &ExportMeta, objects: &[ExportObject<'_>]) -> Result<Vec<u8>, ArchiveError> {
    let err = |e: &dyn std::fmt::Display| ArchiveError::Write(e.to_string());
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut entries = Vec::with_capacity(objects.len());
    let mut used = std::collections::HashSet::new();
    for ExportObject {
        object: o,
        content_hash,
    } in objects
    {
        let mut file = object_file(o.policy_type, o.display_name, o.graph_id);
        // Two ids that clean to one name stay apart.
        let mut n = 1;
        while !used.insert(file.clone()) {
            n += 1;
            file = object_file(
                o.policy_type,
                o.display_name,
                &format!("{}~{n}", o.graph_id),
            );
        }
        let mut bytes = serde_json::to_vec_pretty(&object_json(o)).map_err(|e| err(&e))?;
        bytes.push(b'\n');
        zip.start_file(file.as_str(), options)
            .map_err(|e| err(&e))?;
        zip.write_all(&bytes).map_err(|e| err(&e))?;
        entries.push(ManifestEntry {
            file,
            policy_type: o.policy_type.to_string(),
            graph_id: o.graph_id.to_string(),
            display_name: o.display_name.to_string(),
            content_hash: content_hash.to_string(),
            sha256: sha256_hex(&bytes),
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: 1,
        kind: meta.kind.into(),
        id: meta.id,
        name: meta.name.clone(),
        tenant_id: meta.tenant_id,
        tenant_name: meta.tenant_name.clone(),
        exported_at: Utc::now(),
        objects: entries,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| err(&e))?;
    bytes.push(b'\n');
    zip.start_file(MANIFEST, options).map_err(|e| err(&e))?;
    zip.write_all(&bytes).map_err(|e| err(&e))?;
    Ok(zip.finish().map_err(|e| err(&e))?.into_inner())
}

/// Limits on what an upload may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_files: usize,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

/// One file of an upload: its path and bytes, or why they could not be read.
#[derive(Debug)]
pub struct RawFile {
    pub path: String,
    pub bytes: Result<Vec<u8>, FileError>,
}

/// The files of an upload: the entries of a zip, or the upload itself when it is a single
/// JSON file (`filename`).
pub fn files(upload: &[u8], filename: &str, limits: Limits) -> Result<Vec<RawFile>, ArchiveError> {
    if !upload.starts_with(b"PK") {
        if filename.to_ascii_lowercase().ends_with(".json") {
            return Ok(vec![RawFile {
                path: filename.to_string(),
                bytes: Ok(upload.to_vec()),
            }]);
        }
        return Err(ArchiveError::NotAZip(
            "upload a .zip of JSON exports (or one .json file)".into(),
        ));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(upload))
        .map_err(|e| ArchiveError::NotAZip(e.to_string()))?;
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                out.push(RawFile {
                    path: format!("entry {}", i + 1),
                    bytes: Err(FileError::new("unreadable_file", e.to_string())),
                });
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        if out.len() >= limits.max_files {
            return Err(ArchiveError::TooManyFiles(limits.max_files));
        }
        let path = match entry.name() {
            Ok(name) => name.replace('\\', "/"),
            Err(e) => {
                out.push(RawFile {
                    path: format!("entry {}", i + 1),
                    bytes: Err(FileError::new("unreadable_file", e.to_string())),
                });
                continue;
            }
        };
        if entry.size() > limits.max_file_bytes {
            out.push(RawFile {
                path,
                bytes: Err(FileError::new(
                    "file_too_large",
                    format!(
                        "{} bytes unpacked; at most {} per file",
                        entry.size(),
                        limits.max_file_bytes
                    ),
                )),
            });
            continue;
        }
        let mut bytes = Vec::new();
        // The declared size may lie: read at most one byte past the limit.
        let read = (&mut entry)
            .take(limits.max_file_bytes + 1)
            .read_to_end(&mut bytes);
        total += bytes.len() as u64;
        if total > limits.max_total_bytes {
            return Err(ArchiveError::TooLarge(limits.max_total_bytes));
        }
        let bytes = match read {
            Ok(_) if bytes.len() as u64 > limits.max_file_bytes => Err(FileError::new(
                "file_too_large",
                format!("at most {} bytes per file", limits.max_file_bytes),
            )),
            Ok(_) => Ok(bytes),
            Err(e) => Err(FileError::new("unreadable_file", e.to_string())),
        };
        out.push(RawFile { path, bytes });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Text of an exported file: UTF-8 (a byte-order mark is dropped), or UTF-16 with a
/// byte-order mark or without one (PowerShell's `Out-File` default).
pub fn decode_text(bytes: &[u8]) -> Result<String, FileError> {
    let utf16 = |body: &[u8], little: bool| -> Result<String, FileError> {
        if !body.len().is_multiple_of(2) {
            return Err(FileError::new(
                "unreadable_text",
                "UTF-16 text of an odd length",
            ));
        }
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|p| {
                if little {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16(&units)
            .map_err(|_| FileError::new("unreadable_text", "not valid UTF-16 text"))
    };
    if let Some(body) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return std::str::from_utf8(body)
            .map(str::to_string)
            .map_err(|_| FileError::new("unreadable_text", "not valid UTF-8 text"));
    }
    if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(body, true);
    }
    if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(body, false);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        // `{` or `[` as UTF-16 without a mark: a zero byte beside every ASCII one.
        Err(_) if bytes.len() >= 2 && bytes[1] == 0 && bytes[0] != 0 => utf16(bytes, true),
        Err(_) if bytes.len() >= 2 && bytes[0] == 0 && bytes[1] != 0 => utf16(bytes, false),
        Err(_) => Err(FileError::new(
            "unreadable_text",
            "not UTF-8 or UTF-16 text",
        )),
    }
}

/// One file read as an object of a supported type.
#[derive(Debug, Clone)]
pub struct ImportedObject {
    pub policy_type: PolicyType,
    pub normalized: Normalized,
}

/// Reads one exported file. `manifest` (of a PolicyVault export) vouches for its type and
/// its bytes.
pub fn read_object(
    path: &str,
    bytes: &[u8],
    manifest: Option<&BTreeMap<String, ManifestEntry>>,
) -> Result<ImportedObject, FileError> {
    read_object_with(path, bytes, manifest, None)
}

/// [`read_object`], with the assignments a separate file holds for it (see
/// [`assignment_files`]) used where the object carries none of its own.
pub fn read_object_with(
    path: &str,
    bytes: &[u8],
    manifest: Option<&BTreeMap<String, ManifestEntry>>,
    assignments: Option<&Value>,
) -> Result<ImportedObject, FileError> {
    let listed = manifest.and_then(|m| m.get(path));
    if let Some(entry) = listed
        && sha256_hex(bytes) != entry.sha256
    {
        return Err(FileError::new(
            "hash_mismatch",
            "the file differs from the manifest's SHA-256: changed or damaged after export",
        ));
    }
    let text = decode_text(bytes)?;
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| FileError::new("invalid_json", format!("not valid JSON: {e}")))?;
    let mut value = value;
    let Value::Object(object) = &mut value else {
        return Err(FileError::new(
            "not_an_object",
            "the file holds JSON, but not one object",
        ));
    };
    if let Some(a) = assignments
        && !object.contains_key("assignments")
    {
        object.insert("assignments".into(), a.clone());
    }
    let object = &*object;
    if let Some(Value::Array(list)) = object.get("value")
        && object.get("id").is_none()
    {
        return Err(FileError::new(
            "not_an_object",
            format!(
                "the file holds a list of {} objects; export one object per file",
                list.len()
            ),
        ));
    }
    let contract = match listed.and_then(|e| registry::get(&e.policy_type)) {
        Some(c) => c,
        None => detect(path, &value).ok_or_else(|| {
            FileError::new(
                "unsupported_type",
                match bare_type(&value) {
                    Some(t) => format!(
                        "objects of type {t} are not a supported policy type (from its @odata.type)"
                    ),
                    None => "no supported policy type recognized from the file's @odata.context, @odata.type, folder or properties".to_string(),
                },
            )
        })?,
    };
    let normalized = normalize::normalize(contract, &value);
    if normalized.display_name.trim().is_empty() {
        return Err(FileError::new(
            "missing_name",
            format!(
                "a {} has a {}; this one has none",
                contract.label, contract.match_key
            ),
        ));
    }
    Ok(ImportedObject {
        policy_type: contract.policy_type(),
        normalized,
    })
}

/// Assignments kept in files of their own, as some export tools write them:
/// `<Type folder>/Assignments/<name>.json` holds the assignments (a JSON array, or
/// `{"value": [...]}`) of the object in `<Type folder>/<name>.json`. Returns, per assignment
/// file, the object file it belongs to (if there is one) and its assignments.
pub fn assignment_files(files: &[RawFile]) -> BTreeMap<String, (Option<String>, Value)> {
    let objects: std::collections::HashMap<String, &str> = files
        .iter()
        .filter(|f| f.path.to_ascii_lowercase().ends_with(".json"))
        .map(|f| (f.path.to_lowercase(), f.path.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    for file in files {
        let Some((folder, name)) = file.path.rsplit_once('/') else {
            continue;
        };
        let (parent, last) = folder.rsplit_once('/').unwrap_or(("", folder));
        if squash(last) != "assignments" || !name.to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        let Ok(bytes) = &file.bytes else { continue };
        let Ok(text) = decode_text(bytes) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) else {
            continue;
        };
        let list = match value {
            Value::Array(items) => Value::Array(items),
            Value::Object(mut m) if matches!(m.get("value"), Some(Value::Array(_))) => {
                m.remove("value").unwrap_or_default()
            }
            _ => continue,
        };
        let object_path = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}/{name}")
        };
        let owner = objects
            .get(&object_path.to_lowercase())
            .map(|p| p.to_string());
        out.insert(file.path.clone(), (owner, list));
    }
    out
}

/// The manifest of a PolicyVault export, when `files` holds a readable one.
pub fn manifest(files: &[RawFile]) -> Option<Manifest> {
    let file = files.iter().find(|f| f.path == MANIFEST)?;
    let bytes = file.bytes.as_ref().ok()?;
    let m: Manifest = serde_json::from_slice(bytes).ok()?;
    (m.format == FORMAT).then_some(m)
}

fn bare_type(value: &Value) -> Option<&str> {
    let t = value.get("@odata.type")?.as_str()?;
    Some(t.trim_start_matches('#').rsplit('.').next().unwrap_or(t))
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Folder names export tools write (squashed: lower case, letters and digits only) that are
/// not a registry key or alias.
const TOOL_FOLDERS: &[(&str, &str)] = &[
    ("deviceconfiguration", "deviceConfigurations"),
    ("configurationprofiles", "deviceConfigurations"),
    ("devicecompliance", "deviceCompliancePolicies"),
    ("compliancepolicies", "deviceCompliancePolicies"),
    ("compliancepoliciesv2", "compliancePolicies"),
    ("settingscatalogcompliance", "compliancePolicies"),
    ("configurationpolicies", "configurationPolicies"),
    ("scripts", "deviceManagementScripts"),
    ("powershellscripts", "deviceManagementScripts"),
    ("macscripts", "deviceShellScripts"),
    ("healthscripts", "deviceHealthScripts"),
    ("devicehealthscripts", "deviceHealthScripts"),
    ("compliancescripts", "deviceComplianceScripts"),
    ("customattributes", "deviceCustomAttributeShellScripts"),
    ("autopilot", "windowsAutopilotDeploymentProfiles"),
    (
        "autopilotdeploymentprofiles",
        "windowsAutopilotDeploymentProfiles",
    ),
    ("endpointsecurity", "intents"),
    ("devicemanagementintents", "intents"),
    ("appprotection", "managedAppPolicies"),
    ("appprotectionpolicies", "managedAppPolicies"),
    ("clientapps", "mobileApps"),
    ("applications", "mobileApps"),
    ("appconfigurationmanageddevice", "mobileAppConfigurations"),
    (
        "appconfigurationmanagedapp",
        "targetedManagedAppConfigurations",
    ),
    ("assignmentfilters", "assignmentFilters"),
    ("scopetags", "roleScopeTags"),
    ("roles", "roleDefinitions"),
    ("namedlocations", "namedLocations"),
    ("conditionalaccess", "policies"),
    ("notifications", "notificationMessageTemplates"),
    ("termsandconditions", "termsAndConditions"),
    ("windowsfeatureupdates", "windowsFeatureUpdateProfiles"),
    ("windowsqualityupdates", "windowsQualityUpdateProfiles"),
    ("windowsdriverupdates", "windowsDriverUpdateProfiles"),
    ("w365provisioningpolicies", "provisioningPolicies"),
    ("w365usersettings", "userSettings"),
];

/// The contract a file belongs to, from the strongest evidence it carries.
fn detect(path: &str, value: &Value) -> Option<&'static Contract> {
    from_context(value)
        .or_else(|| from_odata_type(value))
        .or_else(|| from_folder(path))
        .or_else(|| from_shape(value))
}

/// `…/$metadata#deviceManagement/deviceConfigurations/$entity` names the collection.
fn from_context(value: &Value) -> Option<&'static Contract> {
    let context = value.get("@odata.context")?.as_str()?;
    let after = context.split_once('#')?.1;
    let collection: String = after
        .split("/$entity")
        .next()?
        .split('/')
        .map(|seg| seg.split('(').next().unwrap_or(seg))
        .collect::<Vec<_>>()
        .join("/");
    registry::all()
        .iter()
        .find(|c| c.collection.eq_ignore_ascii_case(&collection))
}

/// A documented `@odata.type` that exactly one supported collection serves.
fn from_odata_type(value: &Value) -> Option<&'static Contract> {
    let bare = bare_type(value)?;
    let full = value.get("@odata.type")?.as_str()?;
    let mut found = registry::all().iter().filter(|c| {
        (c.odata_types.iter().any(|t| t.eq_ignore_ascii_case(bare)) && !c.excluded(value))
            || c.implicit_type
                .is_some_and(|t| t.eq_ignore_ascii_case(full))
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The nearest folder that names a type (registry key, alias, or an export tool's name).
fn from_folder(path: &str) -> Option<&'static Contract> {
    let folders: Vec<&str> = path.split('/').rev().skip(1).collect();
    folders.into_iter().find_map(|folder| {
        let name = squash(folder);
        if name.is_empty() {
            return None;
        }
        let singular = name.strip_suffix('s').unwrap_or(&name).to_string();
        registry::all()
            .iter()
            .find(|c| {
                std::iter::once(c.key)
                    .chain(c.aliases.iter().copied())
                    .map(squash)
                    .any(|k| k == name || k.strip_suffix('s') == Some(singular.as_str()))
            })
            .or_else(|| {
                TOOL_FOLDERS
                    .iter()
                    .find(|(f, _)| *f == name || *f == singular)
                    .and_then(|(_, key)| registry::get(key))
            })
    })
}

/// Settings-catalog objects carry no `@odata.type`: `name`, `platforms`, `technologies` and
/// `settings` say what they are (compliance ones also hold `scheduledActionsForRule`).
fn from_shape(value: &Value) -> Option<&'static Contract> {
    let has = |k: &str| value.get(k).is_some();
    if has("name") && has("platforms") && has("technologies") {
        return registry::get(if has("scheduledActionsForRule") {
            "compliancePolicies"
        } else {
            "configurationPolicies"
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: Limits = Limits {
        max_files: 100,
        max_file_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
    };

    #[test]
    fn an_export_reads_back_as_the_same_objects() {
        let payload = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
            "displayName": "Baseline / Ünïcode", "cameraBlocked": true});
        let assignments =
            json!([{"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}]);
        let o = ExportObject {
            object: Captured {
                policy_type: "deviceConfigurations",
                graph_id: "abc",
                display_name: "Baseline / Ünïcode",
                payload: &payload,
                assignments: &assignments,
            },
            content_hash: "h",
        };
        let meta = ExportMeta {
            kind: "snapshot",
            id: uuid::Uuid::from_u128(1),
            name: "n".into(),
            tenant_id: uuid::Uuid::from_u128(2),
            tenant_name: "t".into(),
        };
        let zip = write_zip(&meta, &[o]).unwrap();
        let files = files(&zip, "x.zip", LIMITS).unwrap();
        assert_eq!(files.len(), 2);
        let m = manifest(&files).expect("manifest");
        let by_file: BTreeMap<String, ManifestEntry> = m
            .objects
            .iter()
            .map(|e| (e.file.clone(), e.clone()))
            .collect();
        let file = files.iter().find(|f| f.path != MANIFEST).unwrap();
        assert_eq!(
            file.path,
            "objects/deviceConfigurations/Baseline _ Ünïcode--abc.json"
        );
        let read = read_object(&file.path, file.bytes.as_ref().unwrap(), Some(&by_file)).unwrap();
        assert_eq!(read.policy_type.key(), "deviceConfigurations");
        assert_eq!(read.normalized.source_id.as_deref(), Some("abc"));
        assert_eq!(
            read.normalized.assignments,
            normalize::normalize_assignments(assignments)
        );
        let mut tampered = file.bytes.as_ref().unwrap().clone();
        tampered.extend_from_slice(b" ");
        assert_eq!(
            read_object(&file.path, &tampered, Some(&by_file))
                .unwrap_err()
                .code,
            "hash_mismatch"
        );
    }

    #[test]
    fn text_in_utf8_with_a_mark_and_utf16_reads() {
        let text = "{\"displayName\":\"Zürich\"}";
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode_text(&bom).unwrap(), text);
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode_text(&le).unwrap(), text);
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode_text(&be).unwrap(), text);
        let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode_text(&bare).unwrap(), text);
        assert_eq!(
            decode_text(&[0xC3, 0x28, 0x41]).unwrap_err().code,
            "unreadable_text"
        );
    }

    #[test]
    fn types_come_from_context_odata_type_folder_or_shape() {
        let ctx = json!({"@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/deviceCompliancePolicies/$entity",
            "id": "1", "displayName": "X"});
        assert_eq!(
            detect("a.json", &ctx).unwrap().key,
            "deviceCompliancePolicies"
        );
        let typed = json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "X"});
        assert_eq!(
            detect("a.json", &typed).unwrap().key,
            "deviceConfigurations"
        );
        let plain = json!({"displayName": "X", "rule": "(device.model -eq \"a\")", "platform": "windows10AndLater"});
        assert_eq!(
            detect("Export/Assignment Filters/x.json", &plain)
                .unwrap()
                .key,
            "assignmentFilters"
        );
        assert_eq!(
            detect(
                "backup/Device Configuration/x.json",
                &json!({"displayName": "X"})
            )
            .unwrap()
            .key,
            "deviceConfigurations"
        );
        let catalog =
            json!({"name": "X", "platforms": "windows10", "technologies": "mdm", "settings": []});
        assert_eq!(
            detect("x.json", &catalog).unwrap().key,
            "configurationPolicies"
        );
        assert!(detect("x.json", &json!({"displayName": "X"})).is_none());
    }

    #[test]
    fn assignments_in_files_of_their_own_join_their_object() {
        let file = |path: &str, text: &str| RawFile {
            path: path.into(),
            bytes: Ok(text.as_bytes().to_vec()),
        };
        let files = vec![
            file(
                "Backup/Device Configurations/Kiosk.json",
                r##"{"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "id": "k", "displayName": "Kiosk"}"##,
            ),
            file(
                "Backup/Device Configurations/Assignments/Kiosk.json",
                r##"[{"id": "k_g1", "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}}]"##,
            ),
            file("Backup/Device Configurations/Assignments/Gone.json", "[]"),
        ];
        let found = assignment_files(&files);
        assert_eq!(found.len(), 2);
        let (owner, list) = &found["Backup/Device Configurations/Assignments/Kiosk.json"];
        assert_eq!(
            owner.as_deref(),
            Some("Backup/Device Configurations/Kiosk.json")
        );
        let read = read_object_with(
            &files[0].path,
            files[0].bytes.as_ref().unwrap(),
            None,
            Some(list),
        )
        .unwrap();
        assert_eq!(read.normalized.assignments.as_array().unwrap().len(), 1);
        assert_eq!(read.normalized.assignments[0]["target"]["groupId"], "g1");
        assert!(
            found["Backup/Device Configurations/Assignments/Gone.json"]
                .0
                .is_none()
        );
    }

    #[test]
    fn unreadable_and_unsupported_files_say_why() {
        let err = |bytes: &[u8]| read_object("x.json", bytes, None).unwrap_err().code;
        assert_eq!(err(b"{not json"), "invalid_json");
        assert_eq!(err(b"[1, 2]"), "not_an_object");
        assert_eq!(err(br#"{"value": [{"id": "1"}]}"#), "not_an_object");
        assert_eq!(
            err(br##"{"@odata.type": "#microsoft.graph.user", "displayName": "A"}"##),
            "unsupported_type"
        );
        assert_eq!(
            read_object(
                "Device Configurations/x.json",
                br##"{"@odata.type": "#microsoft.graph.windows10GeneralConfiguration"}"##,
                None
            )
            .unwrap_err()
            .code,
            "missing_name"
        );
        assert!(matches!(
            files(b"plain text", "x.txt", LIMITS),
            Err(ArchiveError::NotAZip(_))
        ));
    }
}
