//! Reports on payloads by JSON pointer: field-level diffs for previews, and the masked
//! secrets (`****`) Graph will not reveal and a restore therefore cannot write.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Graph returns secrets it will not reveal as runs of asterisks; such values cannot be
/// restored.
fn is_masked(s: &str) -> bool {
    let t = s.trim();
    t.len() >= 4 && t.chars().all(|c| c == '*')
}

/// JSON pointers of every masked secret value.
pub fn masked_secrets(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_masked(v, &mut String::new(), &mut out);
    out
}

fn collect_masked(v: &Value, path: &mut String, out: &mut Vec<String>) {
    match v {
        Value::String(s) if is_masked(s) => out.push(path.clone()),
        Value::Object(m) => {
            for (k, child) in m {
                let len = path.len();
                path.push('/');
                path.push_str(&escape_pointer(k));
                collect_masked(child, path, out);
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "/{i}");
                collect_masked(child, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// One changed field between two normalized objects. `before: None` = added,
/// `after: None` = removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// JSON pointer of the field.
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Field-level differences from `before` to `after`: objects compared key by key, arrays
/// item by item (extra items are additions or removals), everything else by value.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_into(before, after, &mut String::new(), &mut out);
    out
}

fn diff_into(before: &Value, after: &Value, path: &mut String, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let len = path.len();
                path.push('/');
                path.push_str(&escape_pointer(k));
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff_into(x, y, path, out),
                    (x, y) => out.push(FieldChange {
                        path: path.clone(),
                        before: x.cloned(),
                        after: y.cloned(),
                    }),
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                let _ = write!(path, "/{i}");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff_into(x, y, path, out),
                    (x, y) => out.push(FieldChange {
                        path: path.clone(),
                        before: x.cloned(),
                        after: y.cloned(),
                    }),
                }
                path.truncate(len);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange {
            path: path.clone(),
            before: Some(a.clone()),
            after: Some(b.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masked_secrets_are_found_anywhere_with_escaped_pointers() {
        let v = json!({"omaSettings": [{"value": "********", "name": "ok"}], "a/b": {"c~d": " **** "}, "x": "***", "y": "a****"});
        let mut found = masked_secrets(&v);
        found.sort();
        assert_eq!(
            found,
            vec!["/a~1b/c~0d".to_string(), "/omaSettings/0/value".to_string()]
        );
    }

    #[test]
    fn diff_reports_changed_added_and_removed_fields() {
        let before = json!({"a": 1, "b": {"c": [1, 2, 3]}, "gone": true, "same": "s"});
        let after = json!({"a": 2, "b": {"c": [1, 5]}, "new": null, "same": "s"});
        let changes = diff(&before, &after);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b/c/1", "/b/c/2", "/gone", "/new"]);
        assert_eq!(changes[0].before, Some(json!(1)));
        assert_eq!(changes[0].after, Some(json!(2)));
        assert_eq!(changes[2].after, None);
        assert_eq!(changes[3].after, None);
        assert_eq!(changes[4].before, None);
        assert_eq!(changes[4].after, Some(Value::Null));
        assert!(diff(&before, &before).is_empty());
    }
}
