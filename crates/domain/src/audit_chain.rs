//! The audit chain: each agency's audit events form a SHA-256 hash chain, so an inspector can
//! check that no event was changed, removed, inserted or reordered after it was written.
//!
//! # The rule
//!
//! Events are chained per agency in the order of their ids. Each event stores
//!
//! ```text
//! prev_hash = the hash of the agency's previous event, or GENESIS (64 zeros) for its first
//! hash      = lowercase hex of SHA-256( prev_hash as 64 ASCII hex digits ‖ canonical form )
//! ```
//!
//! The **canonical form** of an event is one line of compact JSON (UTF-8, no whitespace
//! outside strings), an array of nine values in this fixed order:
//!
//! ```text
//! [id, agency_id, at, actor, action, subject_type, subject_id, before, after]
//! ```
//!
//! - `id`, `agency_id`, `subject_id`: the row numbers as JSON integers (`evt_42` is `42`);
//! - `at`: the instant in UTC as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, always nine fraction
//!   digits (new events are written with microsecond precision, so the last three are `000`);
//! - `actor`, `action`, `subject_type`: JSON strings;
//! - `before`, `after`: `null` when absent; otherwise the stored payload parsed as JSON and
//!   written back with every object's keys in ascending order of their UTF-8 bytes, no
//!   whitespace, strings escaped as JSON requires (`"`, `\` and control characters only;
//!   other characters as themselves), numbers as serde_json writes them (integers as digits,
//!   other numbers in the shortest form that reads back to the same double).
//!
//! That is `jq -cS` or Python's `json.dumps(v, sort_keys=True, separators=(",", ":"),
//! ensure_ascii=False)` for ordinary payloads, so the chain can be checked without Credence.
//!
//! # Events from before the chain
//!
//! Events written before the chain existed (migration 16) have no stored `prev_hash` or
//! `hash`. They are chained all the same, by the same rule applied in id order from
//! [`GENESIS`]; their hashes are computed, not stored. The first event written afterwards
//! stores the last computed hash as its `prev_hash`, so from that write on any change to an
//! earlier event breaks the link there. An event without a hash after a chained one was
//! written behind the application's back, and is a broken link.
//!
//! # What the chain proves, and what it does not
//!
//! A change, removal or reordering of an event breaks the chain at that event or the one
//! after it. The hash is not keyed: whoever can write the database can rewrite the tail of
//! the chain consistently, or cut it short. An inspector who keeps the newest event's `hash`
//! (the API shows it) can later prove that everything up to it is unchanged.

use std::fmt::{self, Write as _};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ids::AuditEventId;

/// The `prev_hash` of an agency's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an event that its hash covers, payloads already in canonical form
/// ([`canonical_json`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event<'a> {
    pub id: i64,
    pub agency_id: i64,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// The canonical form of `event` (see the module documentation).
pub fn canonical(event: &Event<'_>) -> String {
    let payloads = event.before.map_or(4, str::len) + event.after.map_or(4, str::len);
    let mut out = String::with_capacity(96 + event.actor.len() + payloads);
    // Writing to a String cannot fail.
    let _ = write!(out, "[{},{},", event.id, event.agency_id);
    let _ = write!(out, "\"{}\",", event.at.format("%Y-%m-%dT%H:%M:%S%.9fZ"));
    for text in [event.actor, event.action, event.subject_type] {
        push_json_string(&mut out, text);
        out.push(',');
    }
    let _ = write!(out, "{},", event.subject_id);
    out.push_str(event.before.unwrap_or("null"));
    out.push(',');
    out.push_str(event.after.unwrap_or("null"));
    out.push(']');
    out
}

/// A stored payload that is not JSON. Credence never writes one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not JSON")]
pub struct NotJson;

/// A stored JSON payload in canonical form: parsed, and written back with sorted keys and
/// no whitespace.
pub fn canonical_json(text: &str) -> Result<String, NotJson> {
    let value: Value = serde_json::from_str(text).map_err(|_| NotJson)?;
    let mut out = String::with_capacity(text.len());
    write_canonical(&value, &mut out);
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            // Sorted here rather than trusting the map's order: serde_json keeps insertion
            // order when any crate in the build enables its `preserve_order` feature.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, key);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

fn push_json_string(out: &mut String, text: &str) {
    let _ = write!(out, "{}", Value::from(text));
}

/// The hash of an event whose predecessor's hash is `prev_hash` and whose canonical form is
/// `canonical`.
pub fn link(prev_hash: &str, canonical: &str) -> String {
    let digest = Sha256::new()
        .chain_update(prev_hash.as_bytes())
        .chain_update(canonical.as_bytes())
        .finalize();
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// An audit event as stored: its fields, its payloads as written, and its links (`None`
/// for events from before the chain).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stored<'a> {
    pub id: i64,
    pub agency_id: i64,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub before_json: Option<&'a str>,
    pub after_json: Option<&'a str>,
    pub prev_hash: Option<&'a str>,
    pub hash: Option<&'a str>,
}

impl Stored<'_> {
    /// The canonical form of this event's fields.
    pub fn canonical(&self) -> Result<String, LinkProblem> {
        let payload = |text: Option<&str>, field| {
            text.map(canonical_json)
                .transpose()
                .map_err(|_| LinkProblem::NotJson { field })
        };
        let before = payload(self.before_json, "before_json")?;
        let after = payload(self.after_json, "after_json")?;
        Ok(canonical(&Event {
            id: self.id,
            agency_id: self.agency_id,
            at: self.at,
            actor: self.actor,
            action: self.action,
            subject_type: self.subject_type,
            subject_id: self.subject_id,
            before: before.as_deref(),
            after: after.as_deref(),
        }))
    }
}

/// What is wrong with the first broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// `prev_hash` is not the hash of the event before: an event between them was removed
    /// or inserted, or an earlier one was rewritten together with its hash.
    PrevHashMismatch {
        expected: String,
        found: Option<String>,
    },
    /// `hash` does not match the event's content: the event or its hash was changed.
    HashMismatch { expected: String, found: String },
    /// An event without a hash after chained ones: written behind the application's back.
    Unchained,
    /// A payload column holds text that is not JSON.
    NotJson { field: &'static str },
}

impl fmt::Display for LinkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkProblem::PrevHashMismatch { expected, found } => write!(
                f,
                "prev_hash is {}, not {expected}, the hash of the event before it: an event \
                 before it was removed, inserted or rewritten",
                found.as_deref().unwrap_or("missing")
            ),
            LinkProblem::HashMismatch { expected, found } => write!(
                f,
                "hash is {found}, but its content hashes to {expected}: the event or its hash \
                 was changed after it was written"
            ),
            LinkProblem::Unchained => f.write_str(
                "it has no hash although events before it do: it was written behind the \
                 application's back",
            ),
            LinkProblem::NotJson { field } => write!(f, "{field} is not JSON"),
        }
    }
}

/// The first broken link of a chain: the event and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event_id}: {problem}")]
pub struct BrokenLink {
    pub event_id: AuditEventId,
    pub problem: LinkProblem,
}

/// Walks one agency's events in id order, checking each link ([`Chain::check`]) or just
/// following them ([`Chain::follow`]).
#[derive(Debug, Clone)]
pub struct Chain {
    head: String,
    chained: bool,
    events: u64,
}

impl Default for Chain {
    fn default() -> Self {
        Chain::new()
    }
}

impl Chain {
    /// A chain before its first event.
    pub fn new() -> Chain {
        Chain {
            head: GENESIS.to_string(),
            chained: false,
            events: 0,
        }
    }

    /// The hash the next event must store as its `prev_hash`.
    pub fn head(&self) -> &str {
        &self.head
    }

    /// The events walked so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Checks the next event's links and moves past it; a broken link leaves the chain as
    /// it was.
    pub fn check(&mut self, event: &Stored<'_>) -> Result<(), BrokenLink> {
        let broken = |problem| BrokenLink {
            event_id: AuditEventId::new(event.id),
            problem,
        };
        let canonical = event.canonical().map_err(broken)?;
        match (event.prev_hash, event.hash) {
            (None, None) if self.chained => return Err(broken(LinkProblem::Unchained)),
            (None, None) => self.head = link(&self.head, &canonical),
            (prev, hash) => {
                if prev != Some(self.head.as_str()) {
                    return Err(broken(LinkProblem::PrevHashMismatch {
                        expected: self.head.clone(),
                        found: prev.map(str::to_string),
                    }));
                }
                let expected = link(&self.head, &canonical);
                if hash != Some(expected.as_str()) {
                    return Err(broken(LinkProblem::HashMismatch {
                        expected,
                        found: hash.unwrap_or("missing").to_string(),
                    }));
                }
                self.head = expected;
                self.chained = true;
            }
        }
        self.events += 1;
        Ok(())
    }

    /// Moves past the next event without judging it, as a writer must: the head becomes the
    /// event's stored hash, or, for an event from before the chain, its computed one (a
    /// payload that is not JSON is hashed as a JSON string of its text). A broken chain is
    /// the verifier's to report; writing carries on from wherever it ends.
    pub fn follow(&mut self, event: &Stored<'_>) {
        self.head = match event.hash {
            Some(hash) => hash.to_string(),
            None => {
                let canonical = event.canonical().unwrap_or_else(|_| {
                    let text = |t: Option<&str>| t.map(|t| Value::from(t).to_string());
                    let (before, after) = (text(event.before_json), text(event.after_json));
                    canonical(&Event {
                        id: event.id,
                        agency_id: event.agency_id,
                        at: event.at,
                        actor: event.actor,
                        action: event.action,
                        subject_type: event.subject_type,
                        subject_id: event.subject_id,
                        before: before.as_deref(),
                        after: after.as_deref(),
                    })
                });
                link(&self.head, &canonical)
            }
        };
        self.chained |= event.hash.is_some();
        self.events += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at() -> DateTime<Utc> {
        "2026-03-01T14:05:09.123456Z".parse().unwrap()
    }

    fn event(id: i64) -> Event<'static> {
        Event {
            id,
            agency_id: 7,
            at: at(),
            actor: "token:ops",
            action: "update",
            subject_type: "credential_type",
            subject_id: 3,
            before: Some(r#"{"name":"EMT-Basic","version":1}"#),
            after: Some(r#"{"name":"EMT-B \"State\"","version":2}"#),
        }
    }

    #[test]
    fn canonical_form_is_a_fixed_order_json_array() {
        assert_eq!(
            canonical(&event(42)),
            r#"[42,7,"2026-03-01T14:05:09.123456000Z","token:ops","update","credential_type",3,{"name":"EMT-Basic","version":1},{"name":"EMT-B \"State\"","version":2}]"#
        );
        let created = Event {
            before: None,
            ..event(1)
        };
        assert!(canonical(&created).contains(",3,null,{"));
    }

    #[test]
    fn the_hash_is_sha256_of_the_previous_hash_and_the_canonical_form() {
        // Reproducible without Credence:
        //   printf '%s%s' 000…000 '[42,7,…]' | sha256sum
        assert_eq!(
            link(GENESIS, &canonical(&event(42))),
            "be6ddf6c4529660cf8193611ac2b1184c0962c39ea8e17af7d90c44858f8f326"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_drops_whitespace() {
        assert_eq!(
            canonical_json(r#"{ "b": [ {"z": 1, "a": null} ], "a": "é\n", "c": 2.50 }"#).unwrap(),
            r#"{"a":"é\n","b":[{"a":null,"z":1}],"c":2.5}"#
        );
        assert_eq!(canonical_json("not json"), Err(NotJson));
    }

    fn stored<'a>(e: &Event<'a>, prev: Option<&'a str>, hash: Option<&'a str>) -> Stored<'a> {
        Stored {
            id: e.id,
            agency_id: e.agency_id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            subject_type: e.subject_type,
            subject_id: e.subject_id,
            before_json: e.before,
            after_json: e.after,
            prev_hash: prev,
            hash,
        }
    }

    /// `n` events chained as a writer would, the first `legacy` of them without hashes.
    fn written(n: usize, legacy: usize) -> Vec<(Event<'static>, Option<String>, Option<String>)> {
        let mut head = GENESIS.to_string();
        (0..n)
            .map(|i| {
                let e = Event {
                    subject_id: i as i64,
                    ..event(10 + 3 * i as i64)
                };
                let hash = link(&head, &canonical(&e));
                let prev = std::mem::replace(&mut head, hash.clone());
                if i < legacy {
                    (e, None, None)
                } else {
                    (e, Some(prev), Some(hash))
                }
            })
            .collect()
    }

    fn verify(rows: &[(Event<'_>, Option<String>, Option<String>)]) -> Result<u64, BrokenLink> {
        let mut chain = Chain::new();
        for (e, prev, hash) in rows {
            chain.check(&stored(e, prev.as_deref(), hash.as_deref()))?;
        }
        Ok(chain.events())
    }

    #[test]
    fn an_intact_chain_verifies_with_or_without_events_from_before_it() {
        assert_eq!(verify(&written(5, 0)), Ok(5));
        assert_eq!(verify(&written(5, 2)), Ok(5));
        assert_eq!(verify(&written(5, 5)), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
    }

    #[test]
    fn a_changed_event_is_the_first_broken_link() {
        let mut rows = written(5, 0);
        rows[2].0.actor = "someone else";
        let broken = verify(&rows).unwrap_err();
        assert_eq!(broken.event_id, AuditEventId::new(rows[2].0.id));
        assert!(matches!(broken.problem, LinkProblem::HashMismatch { .. }));
    }

    #[test]
    fn a_changed_event_from_before_the_chain_breaks_the_first_chained_link() {
        let mut rows = written(5, 3);
        rows[1].0.after = Some(r#"{"name":"forged"}"#);
        let broken = verify(&rows).unwrap_err();
        assert_eq!(broken.event_id, AuditEventId::new(rows[3].0.id));
        assert!(matches!(
            broken.problem,
            LinkProblem::PrevHashMismatch { .. }
        ));
    }

    #[test]
    fn a_removed_event_breaks_the_link_of_the_next() {
        let mut rows = written(5, 0);
        rows.remove(2);
        let broken = verify(&rows).unwrap_err();
        assert_eq!(broken.event_id, AuditEventId::new(rows[2].0.id));
        assert!(matches!(
            broken.problem,
            LinkProblem::PrevHashMismatch { .. }
        ));
    }

    #[test]
    fn a_rewritten_hash_is_caught_at_the_event_or_the_next() {
        let mut rows = written(5, 0);
        rows[1].2 = Some("f".repeat(64));
        assert_eq!(
            verify(&rows).unwrap_err().event_id,
            AuditEventId::new(rows[1].0.id)
        );

        // Content and hash rewritten together: the next event still names the old hash.
        let mut rows = written(5, 0);
        rows[1].0.action = "delete";
        rows[1].2 = Some(link(rows[1].1.as_deref().unwrap(), &canonical(&rows[1].0)));
        assert_eq!(
            verify(&rows).unwrap_err().event_id,
            AuditEventId::new(rows[2].0.id)
        );
    }

    #[test]
    fn an_unchained_event_after_chained_ones_is_broken() {
        let mut rows = written(4, 0);
        rows[3].1 = None;
        rows[3].2 = None;
        let broken = verify(&rows).unwrap_err();
        assert_eq!(broken.problem, LinkProblem::Unchained);
    }

    #[test]
    fn a_payload_that_is_not_json_is_broken_and_a_writer_follows_past_it() {
        let rows = written(3, 3);
        let bad = Stored {
            after_json: Some("{oops"),
            ..stored(&rows[1].0, None, None)
        };
        let mut chain = Chain::new();
        chain.check(&stored(&rows[0].0, None, None)).unwrap();
        assert_eq!(
            chain.check(&bad).unwrap_err().problem,
            LinkProblem::NotJson {
                field: "after_json"
            }
        );
        let before = chain.head().to_string();
        chain.follow(&bad);
        assert_ne!(chain.head(), before);
    }

    #[test]
    fn following_reaches_the_head_checking_reaches() {
        for legacy in 0..=4 {
            let rows = written(4, legacy);
            let (mut checked, mut followed) = (Chain::new(), Chain::new());
            for (e, prev, hash) in &rows {
                let s = stored(e, prev.as_deref(), hash.as_deref());
                checked.check(&s).unwrap();
                followed.follow(&s);
            }
            assert_eq!(checked.head(), followed.head());
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            // Scores and hours: decimals as the application writes them.
            (-10_000_000i64..10_000_000).prop_map(|n| Value::from(n as f64 / 100.0)),
            "[a-zé\"\\\\\n ]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_json_ignores_layout_and_is_a_fixed_point(v in json_value()) {
            let compact = canonical_json(&v.to_string()).unwrap();
            let pretty = canonical_json(&serde_json::to_string_pretty(&v).unwrap()).unwrap();
            prop_assert_eq!(&compact, &pretty);
            prop_assert_eq!(canonical_json(&compact).unwrap(), compact.clone());
            let back: Value = serde_json::from_str(&compact).unwrap();
            prop_assert_eq!(back, v);
        }

        #[test]
        fn any_single_change_is_caught_at_that_event_or_where_the_chain_begins(
            n in 1usize..8,
            legacy in 0usize..8,
            victim in 0usize..8,
            field in 0usize..5,
        ) {
            let legacy = legacy.min(n);
            let victim = victim % n;
            let mut rows = written(n, legacy);
            let e = &mut rows[victim].0;
            match field {
                0 => e.actor = "mallory",
                1 => e.at += chrono::Duration::microseconds(1),
                2 => e.subject_id += 1,
                3 => e.after = Some(r#"{"name":"forged"}"#),
                _ => e.agency_id += 1,
            }
            let tail_is_chained = rows[victim..].iter().any(|r| r.2.is_some());
            match verify(&rows) {
                // Only a change in the unchained tail of a chain-less log goes unnoticed
                // (nothing seals it yet).
                Ok(_) => prop_assert!(!tail_is_chained),
                Err(broken) => {
                    let at = rows.iter().position(|r| AuditEventId::new(r.0.id) == broken.event_id).unwrap();
                    prop_assert!(at >= victim);
                    if victim >= legacy {
                        prop_assert_eq!(at, victim);
                    } else {
                        prop_assert_eq!(at, legacy);
                    }
                }
            }
        }
    }
}
