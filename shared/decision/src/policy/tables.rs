//! A policy's tables read before they are checked, so that one run finds
//! every mistake rather than the first: every key a table does not know is
//! reported (with the keys it does know) and dropped, and a table of the
//! wrong shape (a missing field, a value of the wrong type) is reported on
//! its own while the others are still read (`serde_path_to_error` names the
//! field of a value of the wrong type). The keys a table knows come
//! from its own serde derive, so they cannot drift from it.

use super::{RawDrift, RawModel, RawSettings};
use crate::error::PolicyError;
use crate::monitor::MonitorSection;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use toml::{Table, Value};

/// The keys a policy's top level knows.
const TOP_LEVEL: &[&str] = &["defaults", "model"];

/// The tables of a policy, as far as they could be read.
#[derive(Debug, Default)]
pub(super) struct Tables {
    pub defaults: RawSettings,
    /// Each `[[model]]` that could be read, in the order of the text.
    pub models: Vec<RawModel>,
    /// How many `[[model]]` entries the text has, read or not.
    pub model_entries: usize,
}

/// Reads `text` as far as it can, adding a `PolicyError` to `errors` for
/// each unknown key and each table it cannot read. `None` when the text is
/// not TOML at all: then nothing can be read.
pub(super) fn read(text: &str, errors: &mut Vec<PolicyError>) -> Option<Tables> {
    let mut top: Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(error) => {
            errors.push(PolicyError::Syntax(error.to_string().trim_end().to_string()));
            return None;
        }
    };
    drop_unknown(&mut top, TOP_LEVEL, Place::new(None, ""), errors);
    let defaults = match top.remove("defaults") {
        None => RawSettings::default(),
        Some(mut value) => {
            let place = Place::new(None, "[defaults]");
            if let Some(table) = value.as_table_mut() {
                drop_unknown(table, field_names::<RawSettings>(), place, errors);
            }
            shaped(value, place, errors).unwrap_or_default()
        }
    };
    let entries = match top.remove("model") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            errors.push(PolicyError::Shape {
                model: None,
                table: String::new(),
                problem: "`model` must be an array of tables: write each model under [[model]]".to_string(),
            });
            Vec::new()
        }
    };
    let model_entries = entries.len();
    let models = entries
        .into_iter()
        .enumerate()
        .filter_map(|(index, entry)| read_model(index, entry, errors))
        .collect();
    Some(Tables {
        defaults,
        models,
        model_entries,
    })
}

/// One `[[model]]` and its sections. A model without a readable name is
/// called by its position, `#1` for the first.
fn read_model(index: usize, mut entry: Value, errors: &mut Vec<PolicyError>) -> Option<RawModel> {
    let name = entry
        .get("name")
        .and_then(Value::as_str)
        .map_or_else(|| format!("#{}", index + 1), str::to_string);
    let model = Some(name.as_str());
    if let Some(table) = entry.as_table_mut() {
        drop_unknown(table, field_names::<RawModel>(), Place::new(model, "[[model]]"), errors);
        let sections = [
            ("drift", field_names::<RawDrift>(), "[model.drift]"),
            ("monitor", field_names::<MonitorSection>(), "[model.monitor]"),
        ];
        for (key, known, label) in sections {
            if let Some(section) = table.get_mut(key).and_then(Value::as_table_mut) {
                drop_unknown(section, known, Place::new(model, label), errors);
            }
        }
    }
    shaped(entry, Place::new(model, "[[model]]"), errors)
}

/// Where a table is: which model (none for the top level and `[defaults]`) and which table.
#[derive(Debug, Clone, Copy)]
struct Place<'a> {
    model: Option<&'a str>,
    table: &'static str,
}

impl<'a> Place<'a> {
    fn new(model: Option<&'a str>, table: &'static str) -> Self {
        Place { model, table }
    }
}

/// Reports and removes every key of `table` not in `known`, in the text's order.
fn drop_unknown(table: &mut Table, known: &[&str], place: Place<'_>, errors: &mut Vec<PolicyError>) {
    let unknown: Vec<String> = table
        .keys()
        .filter(|key| !known.contains(&key.as_str()))
        .cloned()
        .collect();
    for field in unknown {
        table.remove(&field);
        errors.push(PolicyError::UnknownField {
            model: place.model.map(str::to_string),
            table: place.table.to_string(),
            field,
            expected: known.iter().map(|name| name.to_string()).collect(),
        });
    }
}

/// `value` read as `T`, or `None` with the reason added to `errors`: a
/// value of the wrong type is blamed on its field (`alarms`,
/// `drift.threshold`), a missing field on the table.
fn shaped<T: for<'de> Deserialize<'de>>(value: Value, place: Place<'_>, errors: &mut Vec<PolicyError>) -> Option<T> {
    let error = match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(read) => return Some(read),
        Err(error) => error,
    };
    let path = error.path().to_string();
    let problem = error.into_inner().message().trim_end().to_string();
    errors.push(if path == "." || path.is_empty() {
        PolicyError::Shape {
            model: place.model.map(str::to_string),
            table: place.table.to_string(),
            problem,
        }
    } else {
        PolicyError::field(place.model, &path, problem)
    });
    None
}

/// The field names serde's derive gives the struct `T`. Its `Deserialize`
/// asks the deserializer for a struct with these names; `FieldNames` keeps
/// them and answers with an error, so nothing is read.
pub(super) fn field_names<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The error is the point: it stops the derive once the names are kept.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

struct FieldNames<'a>(&'a mut &'static [&'static str]);

const NAMES_ONLY: &str = "only a struct's field names are read";

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom(NAMES_ONLY))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom(NAMES_ONLY))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_the_derives_own() {
        assert_eq!(
            field_names::<RawSettings>(),
            ["cooldown", "max_event_age", "schedule", "approval", "max_starts"]
        );
        assert!(field_names::<RawModel>().contains(&"allow_overrides"));
        assert!(field_names::<MonitorSection>().contains(&"features"));
        assert!(field_names::<String>().is_empty());
    }
}
