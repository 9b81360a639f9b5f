//! Request parameters: lenient decoding for servers (spec §1) and encoding helpers for clients.
//!
//! A server collects a request's parameters into [`Params`] from a query string, a form body or
//! a JSON object body, then decodes them into an endpoint's request type with
//! [`Params::decode`]. Decoding is lenient the way the contract requires:
//!
//! - a value wrapped in one level of JSON string quotes is unwrapped (`"\"true\""` → `true`);
//! - booleans are `true`/`false` in any case; integers are decimal;
//! - JSON arrays may come as JSON text (`event_types=["call_event"]`);
//! - unknown parameters are ignored; a repeated parameter keeps its last value.
//!
//! Errors name the parameter: a missing one is [`ParamError::Missing`]
//! (`REQUEST_VARIABLE_MISSING`), a malformed one [`ParamError::Invalid`] (`BAD_REQUEST`).

use foldhash::HashMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserializer, Serialize, Serializer, forward_to_deserialize_any};
use serde_json::Value;

use crate::envelope::ApiError;

/// Why parameters could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A required parameter is absent.
    #[error("Missing '{0}' argument")]
    Missing(String),
    /// A parameter's value is malformed or not allowed.
    #[error("Invalid '{name}': {reason}")]
    Invalid { name: String, reason: String },
    /// The body itself could not be read (bad JSON, not an object, not UTF-8).
    #[error("Malformed request body: {0}")]
    Body(String),
}

impl From<ParamError> for ApiError {
    fn from(err: ParamError) -> Self {
        match err {
            ParamError::Missing(name) => ApiError::missing_argument(&name),
            other => ApiError::bad_request(other.to_string()),
        }
    }
}

/// One parameter's raw value.
#[derive(Debug, Clone, PartialEq)]
pub enum RawParam {
    /// From a query string or a form body.
    Text(String),
    /// From a JSON object body.
    Json(Value),
}

/// A request's parameters, in arrival order, each name once (the last value wins).
#[derive(Debug, Clone, Default)]
pub struct Params {
    entries: Vec<(String, RawParam)>,
    /// Where each name is in `entries`, once there are more than [`INDEXED_FROM`]: a body with
    /// many distinct names is then read in linear time rather than quadratic, while the few a
    /// request usually has are found faster by a scan than by hashing (and cost no table).
    index: Option<HashMap<String, usize>>,
}

/// How many parameters [`Params`] holds before it indexes them by name.
const INDEXED_FROM: usize = 16;

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Params::default()
    }

    /// Adds or replaces a parameter.
    pub fn insert(&mut self, name: impl Into<String>, value: RawParam) {
        let name = name.into();
        if let Some(at) = self.position(&name) {
            self.entries[at].1 = value;
            return;
        }
        let at = self.entries.len();
        match &mut self.index {
            Some(index) => {
                index.insert(name.clone(), at);
            }
            None if at >= INDEXED_FROM => {
                let index = self
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(at, (name, _))| (name.clone(), at))
                    .chain(std::iter::once((name.clone(), at)))
                    .collect();
                self.index = Some(index);
            }
            None => {}
        }
        self.entries.push((name, value));
    }

    /// Where `name` is in `entries`.
    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.entries.iter().position(|(n, _)| n == name),
        }
    }

    /// Parameters of a query string or an `application/x-www-form-urlencoded` body.
    ///
    /// Decoded as `application/x-www-form-urlencoded` is (`+` is a space, `%XY` a byte, a
    /// malformed escape stays as it is, bytes that are not UTF-8 become U+FFFD), by hand: every
    /// request's query string comes through here, and most components need no decoding.
    pub fn from_urlencoded(input: &[u8]) -> Self {
        let mut params = Params::new();
        for pair in input.split(|b| *b == b'&').filter(|pair| !pair.is_empty()) {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            params.insert(form_decoded(name), RawParam::Text(form_decoded(value)));
        }
        params
    }

    /// Parameters of an `application/json` body, which must be an object (empty body = none).
    pub fn from_json(body: &[u8]) -> Result<Self, ParamError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params::new());
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ParamError::Body(format!("invalid JSON: {e}")))?;
        let Value::Object(object) = value else {
            return Err(ParamError::Body("expected a JSON object".to_owned()));
        };
        let mut params = Params::new();
        for (name, value) in object {
            params.insert(name, RawParam::Json(value));
        }
        Ok(params)
    }

    /// Adds every parameter of `other`, replacing same-named ones.
    pub fn extend(&mut self, other: Params) {
        for (name, value) in other.entries {
            self.insert(name, value);
        }
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&RawParam> {
        self.position(name).map(|at| &self.entries[at].1)
    }

    /// Parameter names, in arrival order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    /// Decodes the parameters into an endpoint's request type.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ParamError> {
        T::deserialize(ParamsDeserializer { params: self }).map_err(|e| match e {
            DeError::Missing(name) => ParamError::Missing(name),
            DeError::Invalid { name, reason } => ParamError::Invalid { name, reason },
            DeError::Custom(reason) => ParamError::Body(reason),
        })
    }
}

/// One component of a form: `+` → space, `%XY` → that byte, then UTF-8 (lossily).
fn form_decoded(component: &[u8]) -> String {
    if !component.iter().any(|b| matches!(b, b'+' | b'%')) {
        return String::from_utf8_lossy(component).into_owned();
    }
    let mut bytes = Vec::with_capacity(component.len());
    let mut rest = component;
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => match (
                rest.first().and_then(|h| hex_value(*h)),
                rest.get(1).and_then(|l| hex_value(*l)),
            ) {
                (Some(high), Some(low)) => {
                    bytes.push(high << 4 | low);
                    rest = &rest[2..];
                }
                _ => bytes.push(b'%'),
            },
            other => bytes.push(other),
        }
    }
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// Removes one level of JSON string quoting, if present (`"\"abc\""` → `abc`).
pub fn unquote(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() >= 2
        && text.starts_with('"')
        && text.ends_with('"')
        && let Ok(inner) = serde_json::from_str::<String>(text)
    {
        return std::borrow::Cow::Owned(inner);
    }
    std::borrow::Cow::Borrowed(text)
}

/// Reads a boolean leniently: `true`/`false` in any case, after [`unquote`].
pub fn parse_bool(text: &str) -> Option<bool> {
    let text = unquote(text);
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// `serialize_with` helper: sends a value as JSON text, as Zulip expects for list parameters
/// in form bodies (`event_types=["call_event"]`).
pub fn as_json_text<T: Serialize, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    let text = serde_json::to_string(value).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

/// Encodes a request as `application/x-www-form-urlencoded` (also used for query strings).
pub fn to_urlencoded<T: Serialize>(request: &T) -> Result<String, serde_urlencoded::ser::Error> {
    serde_urlencoded::to_string(request)
}

/// The error type the decoder threads through serde.
#[derive(Debug)]
enum DeError {
    Missing(String),
    Invalid { name: String, reason: String },
    Custom(String),
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeError::Missing(name) => write!(f, "missing '{name}'"),
            DeError::Invalid { name, reason } => write!(f, "invalid '{name}': {reason}"),
            DeError::Custom(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::Custom(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::Missing(field.to_owned())
    }
}

impl DeError {
    /// Names the parameter a value-level error came from.
    fn for_param(self, name: &str) -> Self {
        match self {
            DeError::Custom(reason) => DeError::Invalid {
                name: name.to_owned(),
                reason,
            },
            other => other,
        }
    }
}

struct ParamsDeserializer<'a> {
    params: &'a Params,
}

impl<'de> Deserializer<'de> for ParamsDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(ParamsAccess {
            entries: self.params.entries.iter(),
            current: None,
        })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct ParamsAccess<'a> {
    entries: std::slice::Iter<'a, (String, RawParam)>,
    current: Option<&'a (String, RawParam)>,
}

impl<'de> MapAccess<'de> for ParamsAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some(entry) => {
                self.current = Some(entry);
                seed.deserialize(entry.0.as_str().into_deserializer())
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((name, raw)) = self.current.take() else {
            return Err(DeError::Custom("value without a name".to_owned()));
        };
        let result = match raw {
            RawParam::Text(text) => seed.deserialize(TextDeserializer { text }),
            RawParam::Json(value) => seed.deserialize(JsonDeserializer { value }),
        };
        result.map_err(|e| e.for_param(name))
    }
}

/// A text value (query, form, or a JSON string), read leniently.
struct TextDeserializer<'a> {
    text: &'a str,
}

impl TextDeserializer<'_> {
    fn unquoted(&self) -> std::borrow::Cow<'_, str> {
        unquote(self.text)
    }

    fn number<T: std::str::FromStr>(&self, what: &str) -> Result<T, DeError> {
        let text = self.unquoted();
        text.trim()
            .parse()
            .map_err(|_| DeError::Custom(format!("expected {what}, got {:?}", text.as_ref())))
    }

    fn json(&self) -> Result<Value, DeError> {
        serde_json::from_str(&self.unquoted())
            .map_err(|e| DeError::Custom(format!("expected JSON: {e}")))
    }
}

macro_rules! text_numbers {
    ($($method:ident => $visit:ident : $ty:ty, $what:literal;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                visitor.$visit(self.number::<$ty>($what)?)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for TextDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_string(self.unquoted().into_owned())
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match parse_bool(self.text) {
            Some(b) => visitor.visit_bool(b),
            None => Err(DeError::Custom(format!(
                "expected true or false, got {:?}",
                self.unquoted().as_ref()
            ))),
        }
    }

    text_numbers! {
        deserialize_i8 => visit_i8: i8, "an integer";
        deserialize_i16 => visit_i16: i16, "an integer";
        deserialize_i32 => visit_i32: i32, "an integer";
        deserialize_i64 => visit_i64: i64, "an integer";
        deserialize_u8 => visit_u8: u8, "a non-negative integer";
        deserialize_u16 => visit_u16: u16, "a non-negative integer";
        deserialize_u32 => visit_u32: u32, "a non-negative integer";
        deserialize_u64 => visit_u64: u64, "a non-negative integer";
        deserialize_f32 => visit_f32: f32, "a number";
        deserialize_f64 => visit_f64: f64, "a number";
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        JsonDeserializer {
            value: &self.json()?,
        }
        .deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        JsonDeserializer {
            value: &self.json()?,
        }
        .deserialize_map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        JsonDeserializer {
            value: &self.json()?,
        }
        .deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let text: String = self.unquoted().into_owned();
        visitor.visit_enum(text.into_deserializer())
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit_struct tuple tuple_struct identifier
    }
}

/// A value from a JSON body: strings are read like text, other values strictly.
struct JsonDeserializer<'a> {
    value: &'a Value,
}

fn json_err(e: serde_json::Error) -> DeError {
    DeError::Custom(e.to_string())
}

macro_rules! json_or_text {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                match self.value {
                    Value::String(text) => TextDeserializer { text }.$method(visitor),
                    other => other.clone().$method(visitor).map_err(json_err),
                }
            }
        )*
    };
}

impl<'de> Deserializer<'de> for JsonDeserializer<'_> {
    type Error = DeError;

    json_or_text! {
        deserialize_any, deserialize_bool,
        deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_f32, deserialize_f64, deserialize_str, deserialize_string,
        deserialize_seq, deserialize_map, deserialize_unit, deserialize_ignored_any,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::String(text) => {
                TextDeserializer { text }.deserialize_struct(name, fields, visitor)
            }
            other => other
                .clone()
                .deserialize_struct(name, fields, visitor)
                .map_err(json_err),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::String(text) => {
                TextDeserializer { text }.deserialize_enum(name, variants, visitor)
            }
            other => other
                .clone()
                .deserialize_enum(name, variants, visitor)
                .map_err(json_err),
        }
    }

    forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit_struct tuple tuple_struct identifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> RawParam {
        RawParam::Text(value.to_owned())
    }

    /// Names are found, and a repeated name replaces its value in place, on both sides of the
    /// point where the parameters start being indexed.
    #[test]
    fn names_are_found_before_and_after_they_are_indexed() {
        let mut params = Params::new();
        for n in 0..INDEXED_FROM * 2 {
            params.insert(format!("p{n}"), text(&n.to_string()));
            params.insert("p0", text(&format!("last{n}")));
            assert_eq!(params.get("p0"), Some(&text(&format!("last{n}"))));
            assert!(params.get(&format!("p{n}")).is_some());
            assert_eq!(params.index.is_some(), n >= INDEXED_FROM);
        }
        assert_eq!(params.names().count(), INDEXED_FROM * 2);
        assert_eq!(params.get("p7"), Some(&text("7")));
        assert_eq!(params.get("missing"), None);
        let names: Vec<_> = params.names().take(3).collect();
        assert_eq!(names, ["p0", "p1", "p2"]);
    }

    #[test]
    fn form_components_are_decoded() {
        let params = Params::from_urlencoded(b"a=x+y%20z&&b&c=%zz%4&d=caf%C3%A9&e=%FF&a=last");
        assert_eq!(params.get("a"), Some(&text("last")));
        assert_eq!(params.get("b"), Some(&text("")));
        assert_eq!(params.get("c"), Some(&text("%zz%4")));
        assert_eq!(params.get("d"), Some(&text("café")));
        assert_eq!(params.get("e"), Some(&text("\u{FFFD}")));
        assert_eq!(
            params.names().collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"]
        );
    }

    proptest::proptest! {
        /// The hand-written decoder reads any input as the `form_urlencoded` crate does.
        #[test]
        fn form_decoding_agrees_with_the_url_crate(
            input in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(b"&=+%aF09zZ".to_vec()),
                    proptest::prelude::any::<u8>(),
                ],
                0..48,
            )
        ) {
            let mut expected = Params::new();
            for (name, value) in url::form_urlencoded::parse(&input) {
                expected.insert(name.into_owned(), RawParam::Text(value.into_owned()));
            }
            proptest::prop_assert_eq!(Params::from_urlencoded(&input), expected);
        }
    }
}
