//! `user_ids`, the list of users a group call invites.
//!
//! The plugin reads it only as comma-separated ints (`2,3`); its mobile app and the design
//! document's JSON bodies send a JSON list (`[2,3]`), and the app JSON-quotes values. So it is
//! read in every one of these forms (the parameter decoder strips the quotes) and written as
//! the one form every server accepts: comma-separated.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::ids::UserId;

/// The users to invite, in the order given (duplicates kept: the server drops them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserIds(pub Vec<UserId>);

impl UserIds {
    /// No users.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids.
    pub fn ids(&self) -> &[UserId] {
        &self.0
    }
}

impl From<Vec<UserId>> for UserIds {
    fn from(ids: Vec<UserId>) -> Self {
        UserIds(ids)
    }
}

impl FromIterator<UserId> for UserIds {
    fn from_iter<I: IntoIterator<Item = UserId>>(iter: I) -> Self {
        UserIds(iter.into_iter().collect())
    }
}

/// Why a `user_ids` value is not a list of user ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a JSON list or comma-separated user ids, got {0:?}")]
pub struct BadUserIds(pub String);

impl FromStr for UserIds {
    type Err = BadUserIds;

    /// `[2,3]`, `2,3`, `2, 3`, `5` or nothing at all (no users). Empty items (`2,,3`) are an
    /// error rather than skipped, so a mangled list is reported, not half-read.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadUserIds(text.to_owned());
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(UserIds::default());
        }
        if trimmed.starts_with('[') {
            let items: Vec<Value> = serde_json::from_str(trimmed).map_err(|_| bad())?;
            return items
                .iter()
                .map(|item| id_of(item).ok_or_else(bad))
                .collect();
        }
        trimmed
            .split(',')
            .map(|item| item.trim().parse().map_err(|_| bad()))
            .collect()
    }
}

/// A list item: a JSON integer, or a string holding one.
fn id_of(item: &Value) -> Option<UserId> {
    match item {
        Value::Number(n) => n.as_i64().map(UserId),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl fmt::Display for UserIds {
    /// Comma-separated, no spaces: `2,3,5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

impl Serialize for UserIds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Sent as comma-separated text; read from that, a JSON list (as text or not) or one id.
impl schemars::JsonSchema for UserIds {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UserIds".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "User ids: comma-separated, or a JSON list",
            "type": "string"
        })
    }
}

impl<'de> Deserialize<'de> for UserIds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UserIdsVisitor)
    }
}

struct UserIdsVisitor;

impl<'de> Visitor<'de> for UserIdsVisitor {
    type Value = UserIds;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON list or comma-separated user ids")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<UserIds, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, id: i64) -> Result<UserIds, E> {
        Ok(UserIds(vec![UserId(id)]))
    }

    fn visit_u64<E: de::Error>(self, id: u64) -> Result<UserIds, E> {
        i64::try_from(id)
            .map(|id| UserIds(vec![UserId(id)]))
            .map_err(|_| E::custom(BadUserIds(id.to_string())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UserIds, A::Error> {
        let mut ids = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            ids.push(id_of(&item).ok_or_else(|| de::Error::custom(BadUserIds(item.to_string())))?);
        }
        Ok(UserIds(ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[i64]) -> UserIds {
        list.iter().copied().map(UserId).collect()
    }

    #[test]
    fn every_form_reads_the_same() {
        for text in ["[2,3]", "2,3", " 2 , 3 ", "[\"2\", 3]", "[ 2 , 3 ]"] {
            assert_eq!(text.parse::<UserIds>(), Ok(ids(&[2, 3])), "{text}");
        }
        assert_eq!("5".parse::<UserIds>(), Ok(ids(&[5])));
        assert_eq!("".parse::<UserIds>(), Ok(UserIds::default()));
        assert_eq!("[]".parse::<UserIds>(), Ok(UserIds::default()));
        for bad in [
            "abc", "2,,3", "2,3,", "[2,", "[2.5]", "[[2]]", "{}", "[null]",
        ] {
            assert!(bad.parse::<UserIds>().is_err(), "{bad}");
        }
    }

    #[test]
    fn written_comma_separated() {
        assert_eq!(ids(&[2, 3, 5]).to_string(), "2,3,5");
        assert_eq!(
            serde_json::to_value(ids(&[2, 3])).unwrap(),
            serde_json::json!("2,3")
        );
        let back: UserIds = serde_json::from_value(serde_json::json!([2, "3"])).unwrap();
        assert_eq!(back, ids(&[2, 3]));
        let one: UserIds = serde_json::from_value(serde_json::json!(7)).unwrap();
        assert_eq!(one, ids(&[7]));
        assert!(serde_json::from_value::<UserIds>(serde_json::json!(true)).is_err());
    }
}
