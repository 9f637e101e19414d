//! What a bulk update does to one credential: issue it, or correct its current issuance.

/// The action a bulk update takes on a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkUpdateAction {
    /// A new issuance (opening the next period where the type renews automatically).
    Issue,
    /// The chosen fields are written onto the current issuance; nothing else changes.
    Correct,
    /// Never issued and no issue date chosen: there is nothing to correct.
    NeedsIssueDate,
}

/// Choosing an issue date issues wherever a period is open (or nothing was ever issued);
/// without one, the current issuance is corrected in any renewal state — an auto-renewing
/// type always has a period open, and a wrong officer's name must still be fixable.
pub fn bulk_update_action(
    has_issuance: bool,
    period_open: bool,
    issue_date_chosen: bool,
) -> BulkUpdateAction {
    match (has_issuance, period_open, issue_date_chosen) {
        (false, _, true) | (true, true, true) => BulkUpdateAction::Issue,
        (false, _, false) => BulkUpdateAction::NeedsIssueDate,
        (true, _, _) => BulkUpdateAction::Correct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_issue_date_decides_between_issuing_and_correcting() {
        use BulkUpdateAction::*;
        assert_eq!(
            bulk_update_action(true, true, false),
            Correct,
            "officer's name while renewing"
        );
        assert_eq!(
            bulk_update_action(true, true, true),
            Issue,
            "renewal completed"
        );
        assert_eq!(
            bulk_update_action(true, false, true),
            Correct,
            "a wrong issue date fixed"
        );
        assert_eq!(bulk_update_action(true, false, false), Correct);
        assert_eq!(bulk_update_action(false, true, true), Issue);
        assert_eq!(bulk_update_action(false, true, false), NeedsIssueDate);
    }

    proptest! {
        #[test]
        fn a_held_credential_is_never_refused_a_correction(period_open: bool) {
            prop_assert_eq!(bulk_update_action(true, period_open, false), BulkUpdateAction::Correct);
        }

        #[test]
        fn nothing_is_issued_without_an_issue_date(has: bool, open: bool) {
            prop_assert_ne!(bulk_update_action(has, open, false), BulkUpdateAction::Issue);
        }
    }
}
