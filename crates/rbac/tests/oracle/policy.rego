# Warden's RBAC decision, written as plainly as possible: the test oracle for
# the compiled engine in crates/rbac/src (policy version 2 of Coder's model:
# site, user, org and org-member levels; scopes; allow lists; ACLs).
#
# Deliberately unoptimised: every vote is recomputed from the raw permission
# lists, nothing is partially evaluated or folded. Clarity over speed.
#
# Input:
#   subject: {id, roles: [Role], groups: [group id], scope: Role + {allow_list: [{type, id}]}}
#     Role = {site: [P], user: [P], by_org_id: {org id: {org: [P], member: [P]}}}
#     P    = {negate: bool, resource_type: string, action: string}
#   action: string
#   object: {id, owner, org_owner ("" when absent), any_org: bool, type,
#            acl_user_list: {user id: [action]}, acl_group_list: {group id: [action]}}
#
# Query: data.warden.oracle.allow (always a boolean).

package warden.oracle

import rego.v1

#------------------------------------------------------------------------------
# Matching and voting
#------------------------------------------------------------------------------

# The permissions of a list that match the request: their action is the
# requested one or "*", and their resource type is the object's or "*".
matching(perms) := [p |
	some p in perms
	p.action in [input.action, "*"]
	p.resource_type in [input.object.type, "*"]
]

# The vote of a list of permissions: -1 if a matching one is negated, 1 if
# some match and none is negated, 0 if none matches.
vote(perms) := to_vote(matching(perms))

to_vote(ms) := -1 if {
	some p in ms
	p.negate
}

to_vote(ms) := 1 if {
	count(ms) > 0
	not any_negated(ms)
}

to_vote(ms) := 0 if count(ms) == 0

any_negated(ms) if {
	some p in ms
	p.negate
}

#------------------------------------------------------------------------------
# Object facts
#------------------------------------------------------------------------------

# The organizations the subject is a member of: every key of every role's
# by_org_id (memberships come from the roles only, never from the scope).
memberships := {org |
	some role in input.subject.roles
	some org, _ in role.by_org_id
}

owned_by_subject if {
	input.object.owner != ""
	input.object.owner == input.subject.id
}

has_org if input.object.org_owner != ""

any_org if input.object.any_org == true

# An object naming an organization and asking about "any organization" is
# rejected outright.
well_formed if not malformed

malformed if {
	any_org
	has_org
}

is_org_member if {
	not any_org
	has_org
	input.object.org_owner in memberships
}

is_org_member if {
	any_org
	count(memberships) > 0
}

#------------------------------------------------------------------------------
# The four levels, for a list of role-like sets (the roles, or [scope])
#------------------------------------------------------------------------------

site_vote(sets) := vote([p | some s in sets; some p in s.site])

# User level: the subject's own objects outside any organization.
user_applies if {
	owned_by_subject
	not has_org
	not any_org
}

user_vote(sets) := vote([p | some s in sets; some p in s.user]) if user_applies

user_vote(sets) := 0 if not user_applies

# One organization's vote at one key ("org" or "member"). Only memberships
# count: a set's entries for other organizations are ignored.
vote_in_org(sets, org, key) := vote([p |
	some s in sets
	some p in s.by_org_id[org][key]
])

# The org-level (key "org") or member-level (key "member") vote for the
# object: its organization's vote when the subject is a member of it, the
# best (maximum) vote over all memberships for any_org, 0 otherwise.
org_level_vote(sets, key) := vote_in_org(sets, input.object.org_owner, key) if {
	not any_org
	has_org
	input.object.org_owner in memberships
}

org_level_vote(sets, key) := 0 if {
	not any_org
	not is_org_member
}

org_level_vote(sets, key) := max({v | some org in memberships; v := vote_in_org(sets, org, key)}) if {
	any_org
	count(memberships) > 0
}

org_level_vote(sets, key) := 0 if {
	any_org
	count(memberships) == 0
}

org_vote(sets) := org_level_vote(sets, "org")

member_vote(sets) := org_level_vote(sets, "member") if owned_by_subject

member_vote(sets) := 0 if not owned_by_subject

votes(sets) := {
	"site": site_vote(sets),
	"user": user_vote(sets),
	"org": org_vote(sets),
	"org_member": member_vote(sets),
}

# The cascade: a deny at site level blocks every lower level; a deny at org
# level blocks the member level; a user-level deny blocks nothing else.
levels_allow(v) if v.site == 1

levels_allow(v) if {
	v.site != -1
	v.user == 1
}

levels_allow(v) if {
	v.site != -1
	v.org == 1
}

levels_allow(v) if {
	v.site != -1
	v.org != -1
	v.org_member == 1
}

role_votes := votes(input.subject.roles)

scope_votes := votes([input.subject.scope])

role_allow if levels_allow(role_votes)

#------------------------------------------------------------------------------
# Scope
#------------------------------------------------------------------------------

in_allow_list if {
	some e in input.subject.scope.allow_list
	e.type == "*"
	e.id == "*"
}

in_allow_list if {
	some e in input.subject.scope.allow_list
	e.type == input.object.type
	e.id == "*"
}

# Objects without an id only pass wildcard entries.
in_allow_list if {
	input.object.id != ""
	some e in input.subject.scope.allow_list
	e.type in [input.object.type, "*"]
	e.id == input.object.id
}

scope_allow if {
	in_allow_list
	levels_allow(scope_votes)
}

#------------------------------------------------------------------------------
# ACLs
#------------------------------------------------------------------------------

grants(actions) if input.action in actions

grants(actions) if "*" in actions

# A user ACL entry for the subject (no membership needed in policy version 2).
acl_allow if grants(input.object.acl_user_list[input.subject.id])

# A group ACL entry for one of the subject's groups, in an organization the
# subject is a member of.
acl_allow if {
	is_org_member
	some g in input.subject.groups
	grants(input.object.acl_group_list[g])
}

# The Everyone group of the object's organization (keyed by the org id).
acl_allow if {
	is_org_member
	grants(input.object.acl_group_list[input.object.org_owner])
}

#------------------------------------------------------------------------------
# Decision
#------------------------------------------------------------------------------

default allow := false

allow if {
	well_formed
	role_allow
	scope_allow
}

allow if {
	well_formed
	acl_allow
	scope_allow
}

# Every intermediate value, for readable failure reports.
default role_allow_bool := false

role_allow_bool if role_allow

default scope_allow_bool := false

scope_allow_bool if scope_allow

default acl_allow_bool := false

acl_allow_bool if acl_allow

default in_allow_list_bool := false

in_allow_list_bool if in_allow_list

explain := {
	"allow": allow,
	"roles": role_votes,
	"scope": scope_votes,
	"in_allow_list": in_allow_list_bool,
	"role_allow": role_allow_bool,
	"scope_allow": scope_allow_bool,
	"acl_allow": acl_allow_bool,
	"memberships": memberships,
}
