//! The district's tiers: the tree of town- and village-level centres the district owns.
//! `GET /api/v1/tiers` serves the tree in force to logged-in operators (read-only); the district
//! administrators author the draft tree (add, rename, move, retire) on the `/policy/tiers` pages
//! (`web`) and at `/api/v1/policy/tiers` (`api`), both through `authoring`. Publishing sends it
//! down the tree.

pub mod api;
pub mod authoring;
pub mod web;

use axum::Json;
use axum::extract::{FromRef, State};
use bangban_domain::station::{StationCode, Tier};
use bangban_kit::auth::{AuthStore, CurrentOperator};
use bangban_kit::policy::PolicyHandle;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the tier handlers share.
#[derive(Clone)]
pub struct TiersApi {
    pub auth: AuthStore,
    pub policy: PolicyHandle,
}

impl FromRef<TiersApi> for AuthStore {
    fn from_ref(api: &TiersApi) -> AuthStore {
        api.auth.clone()
    }
}

/// `GET /api/v1/tiers`, with its documentation.
pub fn routes(api: TiersApi) -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(list)).with_state(api)
}

/// Every signed-in role may read the tree: it holds no personal data.
pub fn access() -> Vec<bangban_kit::access::Access> {
    use bangban_domain::account::Permission;
    use bangban_kit::access::{Access, Rule};
    vec![Access::get(
        "/api/v1/tiers",
        Rule::Needs(Permission::ViewCases),
    )]
}

/// One centre of the tree.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Centre {
    pub code: StationCode,
    pub name: String,
    pub tier: Tier,
    /// `None` for the district itself.
    pub parent: Option<StationCode>,
    /// Whether the code is valid today (China time).
    pub active: bool,
    /// A placeholder entry or an unconfirmed name: the district must check it.
    pub needs_review: bool,
    pub valid_from: String,
    pub valid_until: Option<String>,
}

/// The tree in force, with the policy generation it belongs to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tiers {
    /// 1 at start, +1 per policy reload.
    pub generation: u64,
    /// Where the tree's data comes from.
    pub source: String,
    pub towns: usize,
    pub villages: usize,
    /// The district first, then each town followed by its villages, by code.
    pub centres: Vec<Centre>,
}

/// The district's tree of centres as the policy in force has it.
#[utoipa::path(
    get,
    path = "/api/v1/tiers",
    tag = "tiers",
    security(("bearer" = [])),
    responses((status = OK, description = "区、乡镇（街道）、村（社区）三级中心。The centres of the three tiers.", body = Tiers)),
)]
async fn list(State(api): State<TiersApi>, _op: CurrentOperator) -> Json<Tiers> {
    Json(tiers(&api.policy))
}

/// The tree of the policy in force.
pub fn tiers(policy: &PolicyHandle) -> Tiers {
    let in_force = policy.current();
    let today = bangban_domain::calendar::local_date(OffsetDateTime::now_utc());
    let Some(tree) = in_force.topology.as_ref() else {
        return Tiers {
            generation: in_force.generation,
            source: String::new(),
            towns: 0,
            villages: 0,
            centres: Vec::new(),
        };
    };
    // In code order: a town's code sorts right before its villages'.
    let centres = tree
        .stations()
        .map(|s| Centre {
            code: s.code,
            name: s.name.clone(),
            tier: s.tier,
            parent: tree.parent_of(s.code),
            active: s.is_active(today),
            needs_review: s.needs_review(),
            valid_from: s.valid_from.to_string(),
            valid_until: s.valid_until.map(|d| d.to_string()),
        })
        .collect();
    Tiers {
        generation: in_force.generation,
        source: tree.source().to_owned(),
        towns: tree.towns().count(),
        villages: tree.villages().count(),
        centres,
    }
}
