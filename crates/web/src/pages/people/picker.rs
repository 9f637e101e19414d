//! The member picker: one way to choose members for an action on many (Assign, Renew, adding
//! to a group). It searches on the server (`GET /members/pick`, rows of checkboxes the
//! script fetches), filters by group, keeps the chosen across searches, and offers "add all
//! matching", which sends the filter itself (`pick_q`, `pick_group_id`) to be resolved on the
//! server when the form is sent: no list of ids travels and nothing caps it.
//!
//! Without script the picker is the first page of checkboxes and a Search button that sends
//! the host form back to be shown again with everything typed kept (`pick_search`).

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::State;
use credence_app::ids::{GroupId, MemberId};
use credence_app::page::PageParams;
use credence_app::people::members::{MemberListFilter, MemberView};
use credence_app::{Actor, App, AppError};
use serde::Deserialize;

use crate::pages::auth::session::HtmlQuery;
use crate::pages::credentials::manage::all_groups;
use crate::pages::{render, PageResult, WebUser};

/// Rows a search answers at a time.
const PAGE: i64 = 50;

/// The picker's fields as a host form posts them. Host forms carry the same four fields (the
/// form reader does not flatten) and build this with [`Picked::new`].
#[derive(Debug, Clone, Default)]
pub struct Picked {
    /// Ticked one by one.
    pub member_ids: Vec<MemberId>,
    pub q: String,
    pub group_id: Option<GroupId>,
    /// "Add all matching": every active member matching `q` and `group_id` at submit time.
    pub all: bool,
}

impl Picked {
    pub fn new(
        member_ids: &[MemberId],
        q: &Option<String>,
        group_id: Option<GroupId>,
        all: &Option<String>,
    ) -> Picked {
        let mut ids = member_ids.to_vec();
        let mut seen = HashSet::new();
        ids.retain(|id| seen.insert(*id));
        Picked {
            member_ids: ids,
            q: q.clone().unwrap_or_default().trim().to_string(),
            group_id,
            all: all.as_deref() == Some("1"),
        }
    }

    /// Only active members are offered: an inactive one is reactivated on their page first.
    fn filter(&self) -> MemberListFilter {
        MemberListFilter {
            q: Some(self.q.clone()).filter(|q| !q.is_empty()),
            group_id: self.group_id,
            active: Some(true),
        }
    }

    /// Nothing chosen: no member ticked and not "all matching".
    pub fn is_empty(&self) -> bool {
        self.member_ids.is_empty() && !self.all
    }

    /// The chosen members: those ticked, then, with "all matching", every member the filter
    /// matches now; each once.
    pub async fn resolve(&self, app: &App, actor: &Actor) -> Result<Vec<MemberId>, AppError> {
        let mut ids = self.member_ids.clone();
        if self.all {
            ids.extend(
                app.member_ids_matching(&actor.reader()?, &self.filter())
                    .await?,
            );
        }
        let mut seen = HashSet::new();
        ids.retain(|id| seen.insert(*id));
        Ok(ids)
    }
}

/// One member as a row of the picker.
pub struct PickRow {
    pub id: MemberId,
    /// "Last, First".
    pub name: String,
    pub number: Option<String>,
    pub groups: Vec<String>,
    pub chosen: bool,
}

/// What the picker include (`member_picker.html`) shows.
pub struct MemberPicker {
    pub q: String,
    pub group_id: Option<GroupId>,
    pub groups: Vec<(GroupId, String)>,
    /// The first page of matching members.
    pub rows: Vec<PickRow>,
    /// The cursor of the next page, when more match.
    pub next: Option<String>,
    /// How many active members match the search.
    pub total: i64,
    /// Members chosen earlier that this page does not show, so they stay chosen.
    pub kept: Vec<PickRow>,
    pub all: bool,
    /// How many are ticked one by one.
    pub ticked: usize,
}

/// A count with thousands separators ("1,204").
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// The picker's count line: "12 chosen", "all 1,204 matching", "all 1,204 matching, plus 3
/// ticked", "Nobody chosen yet".
pub fn count_text(all: bool, total: i64, ticked: usize) -> String {
    match (all, ticked) {
        (false, 0) => "Nobody chosen yet".into(),
        (false, n) => format!("{} chosen", thousands(n as i64)),
        (true, 0) => format!("All {} matching", thousands(total)),
        (true, n) => format!(
            "All {} matching, plus {} ticked",
            thousands(total),
            thousands(n as i64)
        ),
    }
}

impl MemberPicker {
    /// The picker as `picked` left it: the search it shows, its first page, and the chosen.
    pub async fn load(app: &App, actor: &Actor, picked: &Picked) -> Result<MemberPicker, AppError> {
        let reader = actor.reader()?;
        let groups = all_groups(app, actor).await?;
        let group_names: HashMap<GroupId, String> =
            groups.iter().map(|g| (g.id, g.name.clone())).collect();
        let filter = picked.filter();
        let page = app
            .members(
                actor,
                &filter,
                &PageParams {
                    limit: Some(PAGE),
                    cursor: None,
                },
            )
            .await?;
        let chosen: HashSet<MemberId> = picked.member_ids.iter().copied().collect();
        let rows: Vec<PickRow> = page
            .items
            .into_iter()
            .map(|m| row(m, &group_names, &chosen))
            .collect();
        let shown: HashSet<MemberId> = rows.iter().map(|r| r.id).collect();
        let hidden: Vec<MemberId> = picked
            .member_ids
            .iter()
            .copied()
            .filter(|id| !shown.contains(id))
            .collect();
        let names = app.names(actor, &hidden).await?;
        let kept = hidden
            .iter()
            .filter(|id| names.members.contains_key(id))
            .map(|id| PickRow {
                id: *id,
                name: names.member(id),
                number: None,
                groups: Vec::new(),
                chosen: true,
            })
            .collect();
        Ok(MemberPicker {
            q: picked.q.clone(),
            group_id: picked.group_id,
            groups: groups.into_iter().map(|g| (g.id, g.name)).collect(),
            rows,
            next: page.next_cursor,
            total: app.members_count(&reader, &filter).await?,
            kept,
            all: picked.all,
            ticked: picked.member_ids.len(),
        })
    }

    pub fn is_group(&self, id: &GroupId) -> bool {
        self.group_id == Some(*id)
    }

    pub fn total_text(&self) -> String {
        thousands(self.total)
    }

    pub fn count_text(&self) -> String {
        count_text(self.all, self.total, self.ticked)
    }
}

fn row(m: MemberView, groups: &HashMap<GroupId, String>, chosen: &HashSet<MemberId>) -> PickRow {
    PickRow {
        chosen: chosen.contains(&m.id),
        name: format!("{}, {}", m.last_name, m.first_name),
        number: m.employee_number,
        groups: m
            .group_ids
            .iter()
            .filter_map(|g| groups.get(g).cloned())
            .collect(),
        id: m.id,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PickQuery {
    q: Option<String>,
    group_id: Option<GroupId>,
    cursor: Option<String>,
}

/// A page of matching members as rows of checkboxes, for the picker's script (which adopts
/// the server-escaped rows and builds everything else with `textContent`).
#[derive(Template)]
#[template(path = "member_pick_rows.html")]
struct PickRows {
    rows: Vec<PickRow>,
    next: Option<String>,
    total: i64,
}

impl PickRows {
    fn total_text(&self) -> String {
        thousands(self.total)
    }
}

/// `GET /members/pick?q=&group_id=&cursor=`: readers of the agency (whoever may see its
/// members; the forms using the picker check their own rights when sent).
pub async fn rows(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(query): HtmlQuery<PickQuery>,
) -> PageResult {
    let actor = &user.actor;
    let reader = actor.reader()?;
    let picked = Picked::new(&[], &query.q, query.group_id, &None);
    let filter = picked.filter();
    let page = app
        .members(
            actor,
            &filter,
            &PageParams {
                limit: Some(PAGE),
                cursor: query.cursor.clone(),
            },
        )
        .await?;
    let groups: HashMap<GroupId, String> = all_groups(&app, actor)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    let none = HashSet::new();
    Ok(render(&PickRows {
        rows: page
            .items
            .into_iter()
            .map(|m| row(m, &groups, &none))
            .collect(),
        next: page.next_cursor,
        total: app.members_count(&reader, &filter).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(count_text(false, 50, 0), "Nobody chosen yet");
        assert_eq!(count_text(false, 50, 12), "12 chosen");
        assert_eq!(count_text(true, 1204, 0), "All 1,204 matching");
        assert_eq!(
            count_text(true, 1204, 3),
            "All 1,204 matching, plus 3 ticked"
        );
    }
}
