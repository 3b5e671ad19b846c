//! Canonical JSON for ledger entries and signed statements: UTF-8, object
//! keys sorted by their UTF-8 bytes, no insignificant whitespace, integers
//! only, strings escaped as `serde_json` escapes them (`"`, `\`, and control
//! characters; everything else literal). One value has exactly one encoding,
//! so an auditor can check canonicality by re-encoding.

use serde_json::Value;

use crate::error::{Error, Result};

/// Encodes a value canonically. Floats are refused: the ledger holds none.
pub fn to_vec(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write(value, &mut out)?;
    Ok(out)
}

/// Encodes a value canonically into a `String`.
pub fn to_string(value: &Value) -> Result<String> {
    // `write` only emits UTF-8.
    String::from_utf8(to_vec(value)?).map_err(|_| Error::Ledger("non-UTF-8 JSON".into()))
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(Error::Ledger("canonical JSON holds no floats".into()));
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(v, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                write(&map[k], out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    // serde_json's string escaping is the canonical one we document.
    serde_json::to_writer(&mut *out, s).expect("writing a str to a Vec cannot fail");
}

/// Parses bytes that must already be canonical; returns the value.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| Error::Ledger(format!("not JSON: {e}")))?;
    if to_vec(&v)? != bytes {
        return Err(Error::Ledger("not canonical JSON".into()));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_no_whitespace() {
        let v = json!({"b": 1, "a": [true, null, "x"], "c": {"z": 0, "y": -3}});
        assert_eq!(
            to_string(&v).unwrap(),
            r#"{"a":[true,null,"x"],"b":1,"c":{"y":-3,"z":0}}"#
        );
    }

    #[test]
    fn escapes_only_what_json_requires() {
        let v = json!({"s": "é\"\\\n\u{1}"});
        assert_eq!(to_string(&v).unwrap(), "{\"s\":\"é\\\"\\\\\\n\\u0001\"}");
    }

    #[test]
    fn floats_are_refused() {
        assert!(to_vec(&json!({"f": 1.5})).is_err());
    }

    #[test]
    fn parse_canonical_refuses_other_encodings() {
        assert!(parse_canonical(br#"{"a":1,"b":2}"#).is_ok());
        assert!(parse_canonical(br#"{"b":2,"a":1}"#).is_err());
        assert!(parse_canonical(br#"{"a": 1}"#).is_err());
        assert!(parse_canonical(b"{\"a\":1}\n").is_err());
        assert!(parse_canonical(br#"{"a":"\u00e9"}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn canonical_is_a_fixed_point(keys in proptest::collection::vec("[a-z\\x00-\\x1f\"é]{0,6}", 0..6), n in proptest::num::i64::ANY) {
            let mut m = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                m.insert(k.clone(), json!([n, i, k]));
            }
            let bytes = to_vec(&Value::Object(m)).unwrap();
            let back = parse_canonical(&bytes).unwrap();
            proptest::prop_assert_eq!(to_vec(&back).unwrap(), bytes);
        }
    }
}
