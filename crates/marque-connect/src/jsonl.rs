//! Reading the wanted fields of one JSON Lines object without building the whole object: string
//! values borrow from the line, other values are kept as their JSON text.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The values of `keys` in the JSON object `line`, in the order of `keys` (`None`: absent or
/// null). A string value is its text; any other value its JSON text (`12`, `true`, `[1,2]`). The
/// last of duplicate keys wins. Errors name what is wrong with the line.
pub fn fields<'a>(line: &'a [u8], keys: &[String]) -> Result<Vec<Option<Cow<'a, str>>>, String> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let out = Wanted { keys }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(out)
}

struct Wanted<'k> {
    keys: &'k [String],
}

impl<'de> DeserializeSeed<'de> for Wanted<'_> {
    type Value = Vec<Option<Cow<'de, str>>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Wanted<'_> {
    type Value = Vec<Option<Cow<'de, str>>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = vec![None; self.keys.len()];
        while let Some(key) = map.next_key_seed(Text)? {
            match self.keys.iter().position(|k| *k == *key) {
                Some(i) => out[i] = map.next_value_seed(AsText)?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A JSON string, borrowed when it has no escapes.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// Any JSON value as text: strings as themselves, null as `None`, the rest as JSON.
struct AsText;

impl<'de> DeserializeSeed<'de> for AsText {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn json_text<E>(v: serde_json::Value) -> Result<Option<Cow<'static, str>>, E> {
    Ok(Some(Cow::Owned(v.to_string())))
}

impl<'de> Visitor<'de> for AsText {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        json_text(v.into())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        json_text(v.into())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        json_text(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        json_text(v.into())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v: serde_json::Value =
            de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        json_text(v)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let v: serde_json::Value =
            de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        json_text(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wanted_fields_match_what_a_full_parse_gives() {
        let line = br#"{"a":"x\"y","b":12,"c":null,"skip":{"deep":[1,2]},"d":1.5,"e":[1,"z"],"a2":"plain","b":13}"#;
        let k = keys(&["a", "b", "c", "d", "e", "a2", "missing"]);
        let got = fields(line, &k).unwrap();
        let full: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(line).unwrap();
        for (i, key) in k.iter().enumerate() {
            let want = full.get(key).and_then(|v| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            });
            assert_eq!(got[i].as_deref(), want.as_deref(), "{key}");
        }
        assert!(matches!(got[5], Some(Cow::Borrowed("plain"))));
    }

    #[test]
    fn broken_lines_are_errors() {
        let k = keys(&["a"]);
        assert!(fields(br#"{"a":"x""#, &k).is_err(), "truncated");
        assert!(fields(br#"[1,2]"#, &k).is_err(), "not an object");
        assert!(fields(br#"{"a":1} x"#, &k).is_err(), "trailing text");
    }
}
