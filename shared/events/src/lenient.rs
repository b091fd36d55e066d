//! Lenient serde fields for the JSON documents AWS nests inside strings (an
//! SNS `Message`, an alarm's `reasonData`), read straight from their text.
//!
//! A `Lenient<T>` field reads a value the way `Object`'s optional readers do
//! (see `field`): null and a missing field are absent, a value of another
//! type is present but not taken, and a struct of such fields skips the keys
//! it does not name. Nothing here fails on unexpected input, so a decoder
//! keeps its own errors for what it requires.
//!
//! Why not a `serde_json::Value`: a `Value` allocates every key and string of
//! the document, while these borrow the strings a decoder uses and skip the
//! rest. That was the largest part of decoding an SNS alarm notification
//! (bench/, `decode-decide/sns`).

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A field read leniently.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Lenient<T> {
    /// Missing or null.
    #[default]
    Absent,
    /// Present, but not a value of the kind the field takes.
    Other,
    /// A value of the kind the field takes.
    Is(T),
}

impl<T> Lenient<T> {
    /// The value, when the field holds one of its kind.
    pub(crate) fn get(&self) -> Option<&T> {
        match self {
            Lenient::Is(value) => Some(value),
            Lenient::Absent | Lenient::Other => None,
        }
    }

    /// Whether the field is there and not null, whatever it holds.
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Lenient::Absent)
    }
}

impl<'a> Lenient<Cow<'a, str>> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        self.get().map(|text| text.as_ref())
    }
}

impl Lenient<f64> {
    pub(crate) fn number(&self) -> Option<f64> {
        self.get().copied()
    }
}

/// The kinds of JSON value a lenient field takes. Each method is given what
/// serde_json found and answers `None` for a kind the field does not take;
/// maps and sequences it does not take are skipped.
pub(crate) trait Wanted<'de>: Sized {
    fn from_str(_text: Cow<'de, str>) -> Option<Self> {
        None
    }

    fn from_number(_number: f64) -> Option<Self> {
        None
    }

    fn from_bool(_flag: bool) -> Option<Self> {
        None
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A string, borrowed from the text when it has no escapes.
impl<'de: 'a, 'a> Wanted<'de> for Cow<'a, str> {
    fn from_str(text: Cow<'de, str>) -> Option<Self> {
        Some(text)
    }
}

/// A finite number, also when sent as a numeric string (as `field::number`).
impl Wanted<'_> for f64 {
    fn from_str(text: Cow<'_, str>) -> Option<Self> {
        text.trim().parse::<f64>().ok().filter(|number| number.is_finite())
    }

    fn from_number(number: f64) -> Option<Self> {
        number.is_finite().then_some(number)
    }
}

impl Wanted<'_> for bool {
    fn from_bool(flag: bool) -> Option<Self> {
        Some(flag)
    }
}

/// An array; each item is itself read leniently when `T` is a `Lenient`.
impl<'de, T: Deserialize<'de>> Wanted<'de> for Vec<T> {
    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        Vec::deserialize(SeqAccessDeserializer::new(seq)).map(Some)
    }
}

/// A struct of lenient fields, read from a JSON object only.
pub(crate) trait Record {}

impl<'de, T: Record + Deserialize<'de>> Wanted<'de> for T {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
}

impl<'de, T: Wanted<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

fn taken<T>(value: Option<T>) -> Lenient<T> {
    value.map_or(Lenient::Other, Lenient::Is)
}

impl<'de, T: Wanted<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Lenient::deserialize(deserializer)
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Self::Value, E> {
        Ok(taken(T::from_bool(flag)))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Self::Value, E> {
        Ok(taken(T::from_number(number as f64)))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Self::Value, E> {
        Ok(taken(T::from_number(number as f64)))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Self::Value, E> {
        Ok(taken(T::from_number(number)))
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(taken(T::from_str(Cow::Borrowed(text))))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(taken(T::from_str(Cow::Owned(text.to_string()))))
    }

    fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
        Ok(taken(T::from_str(Cow::Owned(text))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map).map(taken)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::from_seq(seq).map(taken)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::{json, Value};

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Point<'a> {
        #[serde(borrow)]
        name: Lenient<Cow<'a, str>>,
        value: Lenient<f64>,
        flag: Lenient<bool>,
        #[serde(borrow)]
        inner: Lenient<Box<Point<'a>>>,
        #[serde(borrow)]
        items: Lenient<Vec<Lenient<Point<'a>>>>,
    }

    impl Record for Point<'_> {}
    impl<T: Record> Record for Box<T> {}

    /// `text` read leniently, and the same document read from a parsed `Value`: both must agree.
    fn read(text: &str) -> Lenient<Point<'_>> {
        let from_text: Lenient<Point<'_>> = serde_json::from_str(text).unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        let from_value = Lenient::<Point<'_>>::deserialize(&value).unwrap();
        assert_eq!(format!("{from_text:?}"), format!("{from_value:?}"), "{text}");
        from_text
    }

    #[test]
    fn each_kind_takes_only_its_own_values() {
        let check = |document: Value, expected: Point<'static>| {
            let text = document.to_string();
            assert_eq!(read(&text), Lenient::Is(expected), "{text}");
        };
        check(
            json!({"name": "mae", "value": 16250.5, "flag": true, "extra": {"deep": [1, {"x": null}]}}),
            Point {
                name: Lenient::Is(Cow::Borrowed("mae")),
                value: Lenient::Is(16250.5),
                flag: Lenient::Is(true),
                ..Point::default()
            },
        );
        check(
            json!({"name": 5, "value": " 15000 ", "flag": "true", "inner": "not an object"}),
            Point {
                name: Lenient::Other,
                value: Lenient::Is(15000.0),
                flag: Lenient::Other,
                inner: Lenient::Other,
                ..Point::default()
            },
        );
        check(
            json!({"name": null, "value": "NaN", "flag": null, "items": {"not": "an array"}}),
            Point {
                value: Lenient::Other,
                items: Lenient::Other,
                ..Point::default()
            },
        );
        check(
            json!({"value": 15000, "inner": {"value": -3, "name": ["x"]}, "items": [null, 1, {"flag": false}]}),
            Point {
                value: Lenient::Is(15000.0),
                inner: Lenient::Is(Box::new(Point {
                    value: Lenient::Is(-3.0),
                    name: Lenient::Other,
                    ..Point::default()
                })),
                items: Lenient::Is(vec![
                    Lenient::Absent,
                    Lenient::Other,
                    Lenient::Is(Point {
                        flag: Lenient::Is(false),
                        ..Point::default()
                    }),
                ]),
                ..Point::default()
            },
        );
    }

    #[test]
    fn a_record_is_read_from_an_object_only() {
        for text in ["[1, 2, 3]", "\"name\"", "7", "true"] {
            assert_eq!(read(text), Lenient::Other, "{text}");
        }
        assert_eq!(read("null"), Lenient::Absent);
    }

    #[test]
    fn strings_are_borrowed_unless_they_hold_escapes() {
        assert!(matches!(
            read(r#"{"name": "plain"}"#),
            Lenient::Is(Point {
                name: Lenient::Is(Cow::Borrowed("plain")),
                ..
            })
        ));
        let escaped = read(r#"{"name": "line\nbreak \"quoted\""}"#);
        assert_eq!(
            escaped.get().and_then(|point| point.name.as_str()),
            Some("line\nbreak \"quoted\"")
        );
    }
}
