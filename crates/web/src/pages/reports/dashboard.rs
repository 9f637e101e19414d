//! The dashboard: compliance by credential type and by group as bar charts (SVG drawn on
//! the server, redrawn by Frappe Charts where scripts run), what expires in the next 90 days, overdue
//! periods, and recent activity.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use credence_app::credentials::views::{CredentialListFilter, CredentialView, Names};
use credence_app::ops::audit::{AuditEventView, AuditFilter};
use credence_app::page::PageParams;
use credence_app::App;
use credence_domain::Standing;

use crate::pages::{render, Layout, PageResult, WebUser};

/// One horizontal stacked bar.
pub struct Bar {
    pub name: String,
    pub total: i64,
    pub compliant_percent: f64,
    /// (x, width, colour, count, label) in percent of the bar.
    pub segments: Vec<(f64, f64, &'static str, i64, &'static str)>,
}

/// The bars' segments, in order: a standing and its colour.
const BUCKETS: [(Standing, &str); 3] = [
    (Standing::Compliant, "#16a34a"),
    (Standing::InTraining, "#60a5fa"),
    (Standing::Lapsed, "#dc2626"),
];

fn bar(name: String, counts: &BTreeMap<Standing, i64>) -> Bar {
    let total: i64 = counts.values().sum();
    let mut x = 0.0;
    let mut segments = Vec::new();
    for (standing, colour) in BUCKETS {
        let label = standing.label();
        let n: i64 = counts.get(&standing).copied().unwrap_or(0);
        let width = if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        };
        segments.push((x, width, colour, n, label));
        x += width;
    }
    let compliant = segments[0].3;
    Bar {
        name,
        total,
        compliant_percent: if total == 0 {
            0.0
        } else {
            (compliant as f64 * 1000.0 / total as f64).round() / 10.0
        },
        segments,
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    total: i64,
    compliant_percent: f64,
    overdue_count: i64,
    /// Held a credential before and hold none valid now.
    lapsed_count: i64,
    expiring_count: i64,
    /// When the counts were taken (they may be up to a minute old).
    computed_at: String,
    /// Newer changes are being counted in the background (a large agency while it writes).
    recounting: bool,
    by_type: Vec<Bar>,
    by_group: Vec<Bar>,
    expiring: Vec<CredentialView>,
    overdue: Vec<CredentialView>,
    activity: Vec<AuditEventView>,
    names: Names,
    legend: Vec<(&'static str, &'static str)>,
    /// Groups an officer's calendar feed may be limited to.
    calendar_groups: Vec<(credence_app::ids::GroupId, String)>,
}

impl DashboardPage {
    /// The bars as Frappe Charts data: one stacked dataset per bucket. Names are agency
    /// input; `labels` are set as text by the library, but its tooltip writes the title as
    /// HTML, so `tooltips` carries each name HTML-escaped for that one place.
    fn chart_json(&self, bars: &[Bar]) -> String {
        let datasets: Vec<serde_json::Value> = BUCKETS
            .iter()
            .enumerate()
            .map(|(i, (standing, _))| {
                let label = standing.label();
                let values: Vec<i64> = bars.iter().map(|b| b.segments[i].3).collect();
                serde_json::json!({"name": label, "values": values})
            })
            .collect();
        serde_json::json!({
            "labels": bars.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
            "tooltips": bars.iter().map(|b| html_text(&b.name)).collect::<Vec<_>>(),
            "datasets": datasets,
            "colors": BUCKETS.iter().map(|(_, colour)| *colour).collect::<Vec<_>>(),
        })
        .to_string()
    }

    fn chart_js(&self) -> String {
        crate::pages::assets::url("frappe-charts.min.js")
    }
}

pub async fn page(State(app): State<App>, user: WebUser) -> PageResult {
    if !user.actor.role().reads_agency() {
        return Ok(axum::response::Redirect::to("/me").into_response_page());
    }
    let actor = &user.actor;
    let counted = app.summary(&actor.reader()?).await?;
    let summary = &counted.summary;
    let ten = PageParams {
        limit: Some(10),
        cursor: None,
    };
    let expiring_filter = CredentialListFilter {
        expiring_within_days: Some(90),
        sort: Some("expiration_date".into()),
        ..Default::default()
    };
    let expiring = app.credentials(actor, &expiring_filter, &ten).await?.items;
    let overdue_filter = CredentialListFilter {
        status: vec!["overdue".into()],
        ..Default::default()
    };
    let overdue = app.credentials(actor, &overdue_filter, &ten).await?.items;
    let activity = app
        .audit_events(&actor.reader()?, &AuditFilter::default(), &ten)
        .await?
        .items;
    let member_ids: Vec<credence_app::ids::MemberId> = expiring
        .iter()
        .chain(overdue.iter())
        .map(|c| c.member_id)
        .collect();
    let names = app.names(actor, &member_ids).await?;
    let groups = app.group_choices(&actor.reader()?).await?;
    let group_name = |id: &credence_app::ids::GroupId| {
        groups
            .iter()
            .find(|g| &g.id == id)
            .map_or_else(|| id.to_string(), |g| g.name.clone())
    };
    let calendar_groups = groups.iter().map(|g| (g.id, g.name.clone())).collect();
    let by_type: Vec<Bar> = summary
        .by_type
        .iter()
        .map(|(t, counts)| bar(names.type_name(t), counts))
        .collect();
    let total: i64 = by_type.iter().map(|b| b.total).sum();
    let compliant: i64 = by_type.iter().map(|b| b.segments[0].3).sum();
    let lapsed_count: i64 = by_type.iter().map(|b| b.segments[2].3).sum();
    Ok(render(&DashboardPage {
        layout: Layout::new(&user, "Dashboard", "dashboard"),
        total,
        compliant_percent: if total == 0 {
            0.0
        } else {
            (compliant as f64 * 1000.0 / total as f64).round() / 10.0
        },
        overdue_count: summary.overdue,
        lapsed_count,
        expiring_count: summary.expiring_90_days,
        by_type,
        by_group: summary
            .by_group
            .iter()
            .map(|(g, counts)| bar(group_name(g), counts))
            .collect(),
        expiring,
        overdue,
        activity,
        names,
        legend: BUCKETS.iter().map(|(s, c)| (s.label(), *c)).collect(),
        calendar_groups,
        computed_at: summary
            .computed_at
            .map(|t| t.format("%H:%M:%S UTC").to_string())
            .unwrap_or_default(),
        recounting: !counted.current,
    }))
}

/// `text` as HTML that displays it verbatim.
fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

trait IntoPage {
    fn into_response_page(self) -> axum::response::Response;
}

impl IntoPage for axum::response::Redirect {
    fn into_response_page(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(self)
    }
}
