//! Undoing a bulk action (#18): what must change to bring a set of history rows back to the
//! state they had before the action.
//!
//! A bulk action only ever adds rows (tracks, periods, issuances, certificates) and changes
//! some fields of rows that existed (closes a period, revokes or corrects an issuance). So
//! the undo of an action, given the rows as they were before it and as they are now, is:
//! remove every row that did not exist before, and put back every row whose state differs.
//! The application refuses an undo when a later change touched the same credentials, so
//! "now" is exactly what the action left.

use std::collections::BTreeMap;

/// What undoing an action does to one kind of row, by row id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo<T> {
    /// Rows the action added.
    pub remove: Vec<i64>,
    /// Rows the action changed, with the state to put back.
    pub restore: Vec<(i64, T)>,
}

impl<T> Undo<T> {
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.restore.is_empty()
    }
}

/// The undo that turns `now` back into `before`. A row of `before` missing from `now` cannot
/// be brought back (actions never remove rows) and is left alone.
pub fn undo<T: PartialEq + Clone>(before: &BTreeMap<i64, T>, now: &BTreeMap<i64, T>) -> Undo<T> {
    let remove = now
        .keys()
        .filter(|id| !before.contains_key(id))
        .copied()
        .collect();
    let restore = before
        .iter()
        .filter(|(id, state)| now.get(id).is_some_and(|n| n != *state))
        .map(|(id, state)| (*id, state.clone()))
        .collect();
    Undo { remove, restore }
}

/// Applies an undo to rows held in memory (the model the store's statements follow).
pub fn apply<T: Clone>(rows: &mut BTreeMap<i64, T>, undo: &Undo<T>) {
    for id in &undo.remove {
        rows.remove(id);
    }
    for (id, state) in &undo.restore {
        rows.insert(*id, state.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A row's state: a few fields an action may change.
    #[derive(Debug, Clone, PartialEq)]
    struct Row {
        closed: bool,
        revoked: bool,
        number: Option<u8>,
    }

    fn arb_row() -> impl Strategy<Value = Row> {
        (
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(any::<u8>()),
        )
            .prop_map(|(closed, revoked, number)| Row {
                closed,
                revoked,
                number,
            })
    }

    fn arb_rows() -> impl Strategy<Value = BTreeMap<i64, Row>> {
        proptest::collection::btree_map(0i64..50, arb_row(), 0..20)
    }

    proptest! {
        /// "Undo of an operation restores every row it changed": whatever an action adds
        /// and changes, applying its undo gives back exactly the rows as they were.
        #[test]
        fn undo_restores_every_row_the_action_changed(
            before in arb_rows(),
            changes in proptest::collection::vec((0i64..50, arb_row()), 0..20),
            added in proptest::collection::vec(arb_row(), 0..10),
        ) {
            let mut now = before.clone();
            for (id, state) in changes {
                if let Some(row) = now.get_mut(&id) {
                    *row = state;
                }
            }
            let next = now.keys().max().copied().unwrap_or(0) + 1;
            for (i, state) in added.into_iter().enumerate() {
                now.insert(next + i as i64, state);
            }
            let u = undo(&before, &now);
            apply(&mut now, &u);
            prop_assert_eq!(now, before);
        }

        /// An action that changed nothing has nothing to undo.
        #[test]
        fn nothing_changed_nothing_to_undo(rows in arb_rows()) {
            prop_assert!(undo(&rows, &rows).is_empty());
        }
    }

    #[test]
    fn added_rows_are_removed_and_changed_rows_restored() {
        let row = |closed| Row {
            closed,
            revoked: false,
            number: None,
        };
        let before = BTreeMap::from([(1, row(false)), (2, row(true))]);
        let now = BTreeMap::from([(1, row(true)), (2, row(true)), (3, row(false))]);
        let u = undo(&before, &now);
        assert_eq!(u.remove, [3]);
        assert_eq!(u.restore, [(1, row(false))]);
    }
}
