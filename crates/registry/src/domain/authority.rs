use super::{AppId, EntraTenantId, InvalidValue};

/// Which Entra authority validates a tenant's users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// `https://login.microsoftonline.com/<tenant>/`: only this Entra tenant's users.
    Tenant(EntraTenantId),
    /// `https://login.microsoftonline.com/organizations/`: any work or school tenant on the allow-list.
    Organizations(Vec<EntraTenantId>),
    /// Not connected yet: a `pending` tenant's, whose customer has not said (or connected) its Entra
    /// tenant. It keeps the kind it will have once connected, and accepts no token.
    NotConnected(AuthorityKind),
}

/// The two kinds of authority, without their tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityKind {
    Tenant,
    Organizations,
}

impl AuthorityKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Organizations => "organizations",
        }
    }
}

impl Authority {
    pub const MAX_ALLOWED_TENANTS: usize = 1000;

    pub fn organizations(allowed: Vec<EntraTenantId>) -> Result<Self, InvalidValue> {
        let allowed = dedup(allowed);
        match allowed.len() {
            0 => Err(InvalidValue::new("must list at least one tenant for authority 'organizations'")),
            n if n > Self::MAX_ALLOWED_TENANTS => Err(InvalidValue::new("must list at most 1000 tenants")),
            _ => Ok(Self::Organizations(allowed)),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Tenant(_) | Self::NotConnected(AuthorityKind::Tenant) => "tenant",
            Self::Organizations(_) | Self::NotConnected(AuthorityKind::Organizations) => "organizations",
        }
    }

    /// Whether it names at least one Entra tenant.
    pub fn is_connected(&self) -> bool {
        !matches!(self, Self::NotConnected(_))
    }

    /// Whether a token issued in Entra tenant `tid` may be accepted under this authority.
    pub fn accepts(&self, tid: &EntraTenantId) -> bool {
        match self {
            Self::Tenant(only) => only == tid,
            Self::Organizations(allowed) => allowed.contains(tid),
            Self::NotConnected(_) => false,
        }
    }
}

/// A tenant's Entra settings: the authority and the client apps allowed to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraSettings {
    authority: Authority,
    allowed_app_ids: Vec<AppId>,
}

impl EntraSettings {
    pub const MAX_ALLOWED_APPS: usize = 1000;

    pub fn new(authority: Authority, allowed_app_ids: Vec<AppId>) -> Result<Self, InvalidValue> {
        let allowed_app_ids = dedup(allowed_app_ids);
        match allowed_app_ids.len() {
            0 => Err(InvalidValue::new("must list at least one app id")),
            n if n > Self::MAX_ALLOWED_APPS => Err(InvalidValue::new("must list at most 1000 app ids")),
            _ => Ok(Self { authority, allowed_app_ids }),
        }
    }

    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    pub fn allowed_app_ids(&self) -> &[AppId] {
        &self.allowed_app_ids
    }

    pub fn allows_app(&self, app: &AppId) -> bool {
        self.allowed_app_ids.contains(app)
    }
}

/// Keeps the first occurrence of each value, in order.
fn dedup<T: PartialEq>(values: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tid(s: &str) -> EntraTenantId {
        EntraTenantId::parse(s).unwrap()
    }

    #[test]
    fn an_organizations_authority_needs_a_non_empty_allow_list() {
        assert!(Authority::organizations(vec![]).is_err());
        let a = tid("11111111-1111-1111-1111-111111111111");
        let authority = Authority::organizations(vec![a, a]).unwrap();
        assert_eq!(authority, Authority::Organizations(vec![a]));
        assert!(authority.accepts(&a));
        assert!(!authority.accepts(&tid("22222222-2222-2222-2222-222222222222")));
    }

    #[test]
    fn an_authority_not_connected_yet_keeps_its_kind_and_accepts_no_tenant() {
        let any = tid("11111111-1111-1111-1111-111111111111");
        for (kind, name) in
            [(AuthorityKind::Tenant, "tenant"), (AuthorityKind::Organizations, "organizations")]
        {
            let authority = Authority::NotConnected(kind);
            assert_eq!(authority.kind(), name);
            assert!(!authority.accepts(&any));
            assert!(!authority.is_connected());
        }
        assert!(Authority::Tenant(any).is_connected());
    }

    #[test]
    fn entra_settings_need_at_least_one_allowed_app() {
        let authority = Authority::Tenant(tid("11111111-1111-1111-1111-111111111111"));
        assert!(EntraSettings::new(authority.clone(), vec![]).is_err());
        let app = AppId::parse("33333333-3333-3333-3333-333333333333").unwrap();
        assert!(EntraSettings::new(authority, vec![app]).unwrap().allows_app(&app));
    }
}
