//! JSON text of normalized objects: the canonical form (keys sorted, no whitespace), its
//! SHA-256 content hash, and decoding exports in the encodings they arrive in.

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::graph::error::JsonBytesError;

/// JSON with object keys sorted at every level and no insignificant whitespace: equal
/// content gives equal text whatever order the keys arrived in.
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    // Only serde_json's own output and ASCII punctuation went in: always UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Writing into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Roughly how many bytes `v` takes as JSON text (strings counted without escapes): cheap
/// enough to size batches by.
pub fn approx_len(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|x| approx_len(x) + 1).sum::<usize>(),
        Value::Object(m) => {
            2 + m
                .iter()
                .map(|(k, x)| k.len() + 4 + approx_len(x))
                .sum::<usize>()
        }
    }
}

/// SHA-256, hex, of the canonical JSON.
pub fn content_hash(v: &Value) -> String {
    let digest = Sha256::digest(canonical_json(v).as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Parses JSON as real exports come: UTF-8, UTF-8 with BOM, or UTF-16 (LE/BE) with BOM.
pub fn parse_json_bytes(bytes: &[u8]) -> Result<Value, JsonBytesError> {
    let text = match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec())?,
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes)?,
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes)?,
        _ => String::from_utf8(bytes.to_vec())?,
    };
    Ok(serde_json::from_str(&text)?)
}

fn utf16(bytes: &[u8], word: fn([u8; 2]) -> u16) -> Result<String, JsonBytesError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(JsonBytesError::OddUtf16Length);
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| word([c[0], c[1]])).collect();
    Ok(String::from_utf16(&units)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}"#
        );
        // Escapes and non-ASCII text come out as serde_json writes them.
        let b = serde_json::json!({"k\"ey": "Zoë\n", "n": 1.5, "t": true});
        assert_eq!(canonical_json(&b), r#"{"k\"ey":"Zoë\n","n":1.5,"t":true}"#);
    }

    #[test]
    fn approx_len_is_close_to_the_text() {
        let v: Value = serde_json::from_str(
            r#"{"displayName":"Baseline","settings":[{"id":"0","value":{"a":true,"b":12}}]}"#,
        )
        .unwrap();
        let text = v.to_string().len();
        let approx = approx_len(&v);
        assert!(
            approx >= text / 2 && approx <= text * 2,
            "{approx} vs {text}"
        );
    }

    #[test]
    fn exports_in_utf16_and_with_bom_parse() {
        let text = r#"{"displayName":"Zoë"}"#;
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        for bytes in [le, bom, text.as_bytes().to_vec()] {
            assert_eq!(parse_json_bytes(&bytes).unwrap()["displayName"], "Zoë");
        }
        assert!(parse_json_bytes(b"{").is_err());
    }
}
