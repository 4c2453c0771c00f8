//! Who acts in the system: the roles of operator accounts and their usernames. Pure: the
//! accounts themselves (passwords, sessions) live with the node that stores them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Bilingual;

/// What an operator may do. Stored and sent as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DistrictAdmin,
    Inspector,
    /// Manages the accounts of its own centre; reads its cases, handles none.
    StationAdmin,
    StationOperator,
    Agent,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::DistrictAdmin,
        Role::Inspector,
        Role::StationAdmin,
        Role::StationOperator,
        Role::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "district_admin",
            Role::Inspector => "inspector",
            Role::StationAdmin => "station_admin",
            Role::StationOperator => "station_operator",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role's name in the operator UI.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "区级管理员",
            Role::Inspector => "督查员",
            Role::StationAdmin => "站点管理员",
            Role::StationOperator => "站点操作员",
            Role::Agent => "帮办代办员",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "district administrator",
            Role::Inspector => "inspector",
            Role::StationAdmin => "station administrator",
            Role::StationOperator => "station operator",
            Role::Agent => "agent",
        }
    }
}

/// What an endpoint needs from its caller. Every route of a node names one (or none: public);
/// [`Role::may`] is the one place that says which role has which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Any signed-in operator: the start page, logging out.
    SignedIn,
    /// Read cases (masked in lists), the catalogue, the tree of centres.
    ViewCases,
    /// Take cases in and record their steps.
    HandleCases,
    /// Open a case's full personal data (name, ID number, phones, address); every view is
    /// recorded in the personal-data audit trail before anything is shown.
    ViewPersonalData,
    /// Create accounts of this node, disable and enable them, reset passwords, change roles.
    ManageAccounts,
    /// Read the audit trails (who viewed which case's personal data).
    ViewAudit,
    /// Author the district's policy (the tree of centres, the catalogue, the working calendar,
    /// the agent registry) and publish it as signed bundles; read the policy audit.
    ManagePolicy,
    /// See the deadline alerts and link alarms of the centre and its subtree, and acknowledge
    /// them: those who handle the cases, and those who supervise the district's.
    WatchAlerts,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::SignedIn,
        Permission::ViewCases,
        Permission::HandleCases,
        Permission::ViewPersonalData,
        Permission::ManageAccounts,
        Permission::ViewAudit,
        Permission::ManagePolicy,
        Permission::WatchAlerts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::SignedIn => "signed_in",
            Permission::ViewCases => "view_cases",
            Permission::HandleCases => "handle_cases",
            Permission::ViewPersonalData => "view_personal_data",
            Permission::ManageAccounts => "manage_accounts",
            Permission::ViewAudit => "view_audit",
            Permission::ManagePolicy => "manage_policy",
            Permission::WatchAlerts => "watch_alerts",
        }
    }
}

impl Role {
    /// Least privilege, role by role:
    ///
    /// | role | view cases | handle cases | full personal data | manage accounts | read audit | manage policy | alerts |
    /// |---|---|---|---|---|---|---|---|
    /// | district_admin | yes | no | no | yes | yes | yes | yes |
    /// | inspector | yes | no | no | no | yes | no | yes |
    /// | station_admin | yes | no | no | yes | yes | no | no |
    /// | station_operator | yes | yes | yes | no | no | no | yes |
    /// | agent | yes | yes | yes | no | no | no | yes |
    ///
    /// Operators and agents handle cases (the district hall's own intake is done by its agents'
    /// accounts); inspectors and administrators read cases and never change one.
    ///
    /// Full personal data goes only to those who serve the applicant: an operator or agent needs
    /// the ID number, phone and address to fill forms, call back and deliver the result. Those who
    /// supervise (inspector, district and station administrators) see cases masked and read
    /// instead the audit of who opened whose data: supervising the access needs no access, and a
    /// supervisor who could read the data would need someone to supervise them in turn.
    ///
    /// Administrators manage the accounts of the node they sign in to (a station administrator
    /// never a district administrator's account, see `bangban_kit::auth`).
    pub fn may(self, permission: Permission) -> bool {
        use Role::*;
        match permission {
            Permission::SignedIn | Permission::ViewCases => true,
            Permission::HandleCases | Permission::ViewPersonalData => {
                matches!(self, StationOperator | Agent)
            }
            Permission::ManageAccounts => matches!(self, DistrictAdmin | StationAdmin),
            Permission::ViewAudit => matches!(self, DistrictAdmin | Inspector | StationAdmin),
            // Only the district's administrators author policy; the policy pages and API exist
            // only on the district node.
            Permission::ManagePolicy => matches!(self, DistrictAdmin),
            // Not the station administrator: it manages accounts and handles no case.
            Permission::WatchAlerts => {
                matches!(self, StationOperator | Agent | DistrictAdmin | Inspector)
            }
        }
    }

    /// Whether the role administers accounts (an "admin" for the guard rails: the last enabled
    /// one may not be disabled or demoted).
    pub fn is_admin(self) -> bool {
        self.may(Permission::ManageAccounts)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A well-formed username: 3–32 characters of `[a-z0-9_.-]`. Input is trimmed and ASCII-lowercased
/// first, so `ZhangSan` and `zhangsan` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Username, InvalidUsername> {
        let s = input.trim().to_ascii_lowercase();
        let ok = (3..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if ok {
            Ok(Username(s))
        } else {
            Err(InvalidUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for Username {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A username that is not 3–32 characters of `[a-z0-9_.-]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a username has 3 to 32 characters, each a lowercase letter, a digit, '_', '.' or '-'")]
pub struct InvalidUsername;

impl Bilingual for InvalidUsername {
    fn code(&self) -> &'static str {
        "auth.invalid_username"
    }
    fn message_zh(&self) -> String {
        "用户名须为 3 至 32 个字符，只能包含小写字母、数字、“_”、“.”或“-”".to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_lowercased_and_checked() {
        assert_eq!(Username::parse(" ZhangSan ").unwrap(), "zhangsan");
        assert_eq!(
            Username::parse("li.si-01_a").unwrap().into_string(),
            "li.si-01_a"
        );
        for bad in ["", "ab", "张三", "a b c", &"x".repeat(33)] {
            assert_eq!(Username::parse(bad), Err(InvalidUsername), "{bad:?}");
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert!(!role.label_zh().is_empty() && !role.label_en().is_empty());
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn station_admins_manage_accounts_and_read_cases_but_never_handle_them() {
        let a = Role::StationAdmin;
        assert_eq!(a.as_str(), "station_admin");
        assert_eq!(a.label_zh(), "站点管理员");
        assert!(a.may(Permission::ViewCases) && a.may(Permission::ManageAccounts));
        assert!(a.may(Permission::ViewAudit));
        assert!(!a.may(Permission::HandleCases) && !a.may(Permission::ViewPersonalData));
    }

    #[test]
    fn only_those_who_serve_the_applicant_see_full_personal_data() {
        let seeing: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.may(Permission::ViewPersonalData))
            .collect();
        assert_eq!(seeing, [Role::StationOperator, Role::Agent]);
        let auditing: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.may(Permission::ViewAudit))
            .collect();
        assert_eq!(
            auditing,
            [Role::DistrictAdmin, Role::Inspector, Role::StationAdmin]
        );
        // Nobody both reads the data and the audit of who read it.
        for role in Role::ALL {
            assert!(!(role.may(Permission::ViewPersonalData) && role.may(Permission::ViewAudit)));
        }
    }
}
