//! Objects: what an authorization check is about.

use uuid::Uuid;

use crate::resource::{Action, ResourceType};

/// The thing a subject wants to act on, reduced to what the policy reads.
///
/// Build it with the chaining methods:
///
/// ```
/// # use warden_rbac::{Object, ResourceType};
/// # use uuid::Uuid;
/// # let (id, owner, org) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
/// let member = Object::new(ResourceType::OrganizationMember).with_id(id).owned_by(owner).in_org(org);
/// ```
///
/// `any_org` asks "in some organization the subject belongs to" (e.g. "may I
/// create a template anywhere?") and excludes a concrete organization:
/// [`Object::in_org`] and [`Object::any_org`] each clear the other, and an
/// object with both set by hand is always denied (Coder refuses it too).
///
/// ACL lists are kept as given; several entries for the same user or group
/// grant the union of their actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The object's id, matched against restrictive scope allow lists.
    pub id: Option<Uuid>,
    /// The user owning the object, if any.
    pub owner: Option<Uuid>,
    /// The organization owning the object, if any.
    pub org_owner: Option<Uuid>,
    /// Whether the check is for "any organization the subject is a member of".
    pub any_org: bool,
    /// The object's resource type.
    pub resource_type: ResourceType,
    /// Per-user ACL: actions granted to individual users.
    pub acl_user_list: Vec<(Uuid, Vec<Action>)>,
    /// Per-group ACL: actions granted to groups (the organization id stands
    /// for the organization's Everyone group).
    pub acl_group_list: Vec<(Uuid, Vec<Action>)>,
}

impl Object {
    /// An object of a type, with no id, owner, organization or ACL.
    pub fn new(resource_type: ResourceType) -> Object {
        Object {
            id: None,
            owner: None,
            org_owner: None,
            any_org: false,
            resource_type,
            acl_user_list: Vec::new(),
            acl_group_list: Vec::new(),
        }
    }

    /// Sets the object's id.
    pub fn with_id(self, id: Uuid) -> Object {
        Object {
            id: Some(id),
            ..self
        }
    }

    /// Sets the owning user.
    pub fn owned_by(self, user: Uuid) -> Object {
        Object {
            owner: Some(user),
            ..self
        }
    }

    /// Sets the owning organization (and clears `any_org`).
    pub fn in_org(self, org: Uuid) -> Object {
        Object {
            org_owner: Some(org),
            any_org: false,
            ..self
        }
    }

    /// Asks about any organization the subject is a member of (and clears the
    /// owning organization).
    pub fn any_org(self) -> Object {
        Object {
            org_owner: None,
            any_org: true,
            ..self
        }
    }

    /// Adds a user ACL entry.
    pub fn with_user_acl(mut self, user: Uuid, actions: Vec<Action>) -> Object {
        self.acl_user_list.push((user, actions));
        self
    }

    /// Adds a group ACL entry (use the organization id for the Everyone group).
    pub fn with_group_acl(mut self, group: Uuid, actions: Vec<Action>) -> Object {
        self.acl_group_list.push((group, actions));
        self
    }
}
