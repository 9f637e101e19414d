//! Helpers for request bodies.

use serde::{Deserialize, Deserializer};

/// For PATCH fields that may be cleared: absent → `None` (leave as is), `null` →
/// `Some(None)` (clear), a value → `Some(Some(v))`. Use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Applies a PATCH value: keeps `current` when the field was absent.
pub fn patch<T>(current: T, change: Option<T>) -> T {
    change.unwrap_or(current)
}

/// Trims optional text and treats blank as absent.
pub fn clean(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
