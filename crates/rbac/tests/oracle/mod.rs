//! The Rego oracle: `policy.rego` (a plain transcription of the decision
//! rules) evaluated by regorus, plus the conversion of Warden's `Subject` /
//! `Object` into the policy's input document.
//!
//! Shared by the integration tests and the `rbac` bench (`#[path]` include).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::vm::RegoVM;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;
use warden_rbac::{Action, AllowListEntry, Object, OrgPermissions, Permission, Role, Subject};

/// The policy text.
pub const POLICY: &str = include_str!("policy.rego");

/// The rule giving the decision.
pub const ALLOW_RULE: &str = "data.warden.oracle.allow";

/// The rule giving every intermediate value.
pub const EXPLAIN_RULE: &str = "data.warden.oracle.explain";

/// The policy loaded once and reused for every evaluation (only the input
/// changes between calls), in both of regorus' evaluators: the tree-walking
/// interpreter (`Engine`) and the bytecode VM (`RegoVM`, several times faster,
/// used for the decision). The interpreter double-checks the VM and explains.
pub struct Oracle {
    engine: regorus::Engine,
    vm: RegoVM,
}

impl Default for Oracle {
    fn default() -> Self {
        Self::new()
    }
}

impl Oracle {
    pub fn new() -> Oracle {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("policy.rego".to_owned(), POLICY.to_owned())
            .expect("the oracle policy parses");
        let compiled = engine
            .compile_with_entrypoint(&ALLOW_RULE.into())
            .expect("the oracle policy compiles");
        let program = Compiler::compile_from_policy(&compiled, &[ALLOW_RULE])
            .expect("the oracle policy compiles to RVM bytecode");
        let mut vm = RegoVM::new();
        vm.load_program(program);
        let mut oracle = Oracle { engine, vm };
        // Evaluate once so that any lazy preparation happens now.
        let warm_up = input_value(&json!({
            "subject": {"id": "", "roles": [], "groups": [],
                        "scope": {"site": [], "user": [], "by_org_id": {}, "allow_list": []}},
            "action": "read",
            "object": {"id": "", "owner": "", "org_owner": "", "any_org": false, "type": "user",
                       "acl_user_list": {}, "acl_group_list": {}},
        }));
        let _ = oracle.allow_value(warm_up.clone());
        let _ = oracle.allow_value_interpreted(warm_up);
        oracle
    }

    /// The decision for a prepared input (bytecode VM).
    pub fn allow_value(&mut self, input: regorus::Value) -> bool {
        self.vm.set_input(input);
        let value = self.vm.execute().expect("the oracle evaluates");
        value == regorus::Value::from(true)
    }

    /// The decision for a prepared input (tree-walking interpreter).
    pub fn allow_value_interpreted(&mut self, input: regorus::Value) -> bool {
        self.engine.set_input(input);
        let value = self
            .engine
            .eval_rule(ALLOW_RULE.to_owned())
            .expect("the oracle evaluates");
        value == regorus::Value::from(true)
    }

    /// The decision for Warden's types.
    pub fn allow(&mut self, subject: &Subject, action: Action, object: &Object) -> bool {
        self.allow_value(input_value(&input(subject, action, object)))
    }

    /// Every intermediate value of the policy, as JSON text.
    pub fn explain(&mut self, subject: &Subject, action: Action, object: &Object) -> String {
        self.engine
            .set_input(input_value(&input(subject, action, object)));
        match self.engine.eval_rule(EXPLAIN_RULE.to_owned()) {
            Ok(value) => value.to_json_str().unwrap_or_else(|e| e.to_string()),
            Err(e) => format!("explain failed: {e}"),
        }
    }
}

/// Converts a JSON input document into a regorus value.
pub fn input_value(input: &Json) -> regorus::Value {
    regorus::Value::from(input.clone())
}

fn uuid_or_empty(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

fn permissions(perms: &[Permission]) -> Json {
    serde_json::to_value(perms).expect("permissions serialize")
}

fn by_org_id(map: &BTreeMap<Uuid, OrgPermissions>) -> Json {
    let mut out = Map::new();
    for (org, perms) in map {
        out.insert(
            org.to_string(),
            json!({"org": permissions(&perms.org), "member": permissions(&perms.member)}),
        );
    }
    Json::Object(out)
}

fn role(role: &Role) -> Json {
    json!({
        "site": permissions(&role.site),
        "user": permissions(&role.user),
        "by_org_id": by_org_id(&role.by_org_id),
    })
}

fn allow_list_entry(entry: &AllowListEntry) -> Json {
    json!({
        "type": entry.resource_type.as_str(),
        "id": entry.id.map_or_else(|| "*".to_owned(), |id| id.to_string()),
    })
}

/// An ACL as the policy reads it: one key per user/group, the union of the
/// actions of every entry with that key.
fn acl(entries: &[(Uuid, Vec<Action>)]) -> Json {
    let mut merged: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for (key, actions) in entries {
        let list = merged.entry(key.to_string()).or_default();
        for action in actions {
            if !list.contains(&action.as_str()) {
                list.push(action.as_str());
            }
        }
    }
    serde_json::to_value(merged).expect("ACL serializes")
}

/// The subject part of the input.
pub fn subject_json(subject: &Subject) -> Json {
    let scope = subject.scope();
    json!({
        "id": subject.id().to_string(),
        "roles": subject.roles().iter().map(role).collect::<Vec<_>>(),
        "groups": subject.groups().iter().map(Uuid::to_string).collect::<Vec<_>>(),
        "scope": {
            "site": permissions(scope.site()),
            "user": permissions(scope.user()),
            "by_org_id": by_org_id(scope.by_org_id()),
            "allow_list": scope.allow_list().iter().map(allow_list_entry).collect::<Vec<_>>(),
        },
    })
}

/// The object part of the input.
pub fn object_json(object: &Object) -> Json {
    json!({
        "id": uuid_or_empty(object.id),
        "owner": uuid_or_empty(object.owner),
        "org_owner": uuid_or_empty(object.org_owner),
        "any_org": object.any_org,
        "type": object.resource_type.as_str(),
        "acl_user_list": acl(&object.acl_user_list),
        "acl_group_list": acl(&object.acl_group_list),
    })
}

/// The policy's input document for one check.
pub fn input(subject: &Subject, action: Action, object: &Object) -> Json {
    json!({
        "subject": subject_json(subject),
        "action": action.as_str(),
        "object": object_json(object),
    })
}
