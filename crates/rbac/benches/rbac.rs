//! Warden's RBAC engine against the Rego oracle on Coder's benchmark cases
//! (`coderd/rbac/authz_test.go`: `BenchmarkRBACAuthorize`,
//! `BenchmarkRBACAuthorizeGroups`; `authz_manyorgs_bench_test.go`).
//!
//! `cargo bench -p warden-rbac --bench rbac` prints a markdown table and, as
//! its last line, `rbac geomean: warden <ns> ns/op, rego <ns> ns/op, speedup <x>x`
//! (geometric means over every case of the table).
//!
//! Setup, as in Coder: organizations o0..o2 and the subject have Coder's fixed
//! ids; the object is Coder's `objects[0]` (a workspace in o0 owned by the
//! subject, with a random id and two-entry user and group ACLs); the action
//! is `read`; three noise groups. Differences, all forced by Warden's
//! vocabulary or by Coder's newest roles:
//! * every organization membership carries `organization-member` **and**
//!   `organization-workspace-access`: Coder's `organization-member` bundled
//!   member-level workspace access when these benchmarks were written (newest
//!   Coder grants it through `organization-workspace-access`, a default
//!   member role), and the cases must keep their published outcome;
//! * the GroupACL variant checks `assign` on the workspace instead of Coder's
//!   made-up `never-match-action` (no role grants `assign` on workspaces, so
//!   only the ACL entry `{allowGroup: [assign]}` can allow it);
//! * "random" ids come from a fixed-seed generator.
//!
//! Columns: `warden` = `Subject::authorize` on a compiled subject (Coder's
//! cached-subject variants are the same for Warden: the subject is always
//! compiled once); `rego (vm)` / `rego (interp)` = the oracle policy
//! `tests/oracle/policy.rego` on regorus' bytecode VM / interpreter, policy
//! prepared once, input document built once (conversion not timed);
//! `speedup` = rego (vm) / warden; `subject` = `Subject::new` (role
//! compilation; Coder does the equivalent per request unless cached);
//! `filter` = `Subject::filter` for the case's action on workspaces; `Coder`
//! = Coder's published Go/OPA numbers (AMD EPYC 9454P), for scale only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/oracle/mod.rs"]
mod oracle;

use std::hint::black_box;
use std::time::{Duration, Instant};

use uuid::Uuid;
use warden_rbac::{Action, Object, ResourceType, Role, Scope, Subject, roles};

/// Deterministic "random" ids (splitmix64), shaped as UUIDv4.
struct Ids(u64);

impl Ids {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

/// One benchmark case: a subject, an action and an object.
struct Case {
    name: String,
    subject: Subject,
    action: Action,
    object: Object,
    /// Coder's published ns/op, when there is one.
    coder_ns: Option<f64>,
}

/// One of Coder's `benchmarkUserCases`.
struct BaseCase {
    name: &'static str,
    roles: Vec<Role>,
    groups: Vec<Uuid>,
    scope: Scope,
    /// Coder's published `RBACAuthorize` ns/op.
    coder_authorize_ns: f64,
    /// Coder's published `RBACAuthorizeGroups` ns/op.
    coder_groups_ns: f64,
}

/// `organization-member` + `organization-workspace-access` in `org`.
fn membership(org: Uuid) -> Vec<Role> {
    vec![
        roles::org_role(roles::ORG_MEMBER, org).unwrap(),
        roles::org_role(roles::ORG_WORKSPACE_ACCESS, org).unwrap(),
    ]
}

fn site(name: &str) -> Role {
    roles::site_role(name).unwrap()
}

fn org(name: &str, org: Uuid) -> Role {
    roles::org_role(name, org).unwrap()
}

fn cases() -> Vec<Case> {
    let mut ids = Ids(0x00C0_DE4B_E7C4);
    let orgs = [
        uuid("bf7b72bd-a2b1-4ef2-962c-1d698e0483f6"),
        uuid("e4660c6f-b9de-422d-9578-cd888983a795"),
        uuid("fb13d477-06f4-42d9-b957-f6b89bd63515"),
    ];
    let user = uuid("10d03e62-7703-4df5-a358-4f76577d4e2f");
    let noise_groups = vec![ids.uuid(), ids.uuid(), ids.uuid()];

    // Coder's `objects[0]`: in orgs[0], owned by users[0] (the subject).
    let acl = [
        (ids.uuid(), vec![Action::Read, Action::Update]),
        (ids.uuid(), vec![Action::Create]),
    ];
    let mut object = Object::new(ResourceType::Workspace)
        .with_id(ids.uuid())
        .in_org(orgs[0])
        .owned_by(user);
    for (key, actions) in &acl {
        object = object
            .with_user_acl(*key, actions.clone())
            .with_group_acl(*key, actions.clone());
    }

    let admin = || {
        let mut r = membership(orgs[0]);
        r.extend([
            site(roles::AUDITOR),
            site(roles::OWNER),
            site(roles::MEMBER),
        ]);
        r
    };
    let many_roles = || {
        let mut r = Vec::new();
        for &o in &orgs {
            r.extend(membership(o));
            r.push(org(roles::ORG_ADMIN, o));
        }
        r.push(site(roles::MEMBER));
        r
    };
    let case = |name, roles, groups, scope, coder_authorize_ns, coder_groups_ns| BaseCase {
        name,
        roles,
        groups,
        scope,
        coder_authorize_ns,
        coder_groups_ns,
    };
    let base = vec![
        case("NoRoles", vec![], vec![], Scope::all(), 2120.0, 8677.0),
        case(
            "Admin",
            admin(),
            noise_groups.clone(),
            Scope::all(),
            3702.0,
            11590.0,
        ),
        case(
            "OrgAdmin",
            {
                let mut r = membership(orgs[0]);
                r.extend([org(roles::ORG_ADMIN, orgs[0]), site(roles::MEMBER)]);
                r
            },
            noise_groups.clone(),
            Scope::all(),
            3840.0,
            11330.0,
        ),
        case(
            "OrgMember",
            {
                let mut r = membership(orgs[0]);
                r.extend(membership(orgs[1]));
                r.push(site(roles::MEMBER));
                r
            },
            noise_groups.clone(),
            Scope::all(),
            3863.0,
            12060.0,
        ),
        case(
            "ManyRoles",
            many_roles(),
            noise_groups.clone(),
            Scope::all(),
            6084.0,
            13330.0,
        ),
        case(
            "AdminWithScope",
            admin(),
            noise_groups.clone(),
            Scope::application_connect(),
            3658.0,
            10710.0,
        ),
        case(
            "StaticRoles",
            vec![
                site(roles::AUDITOR),
                site(roles::OWNER),
                site(roles::MEMBER),
                site(roles::TEMPLATE_ADMIN),
                site(roles::USER_ADMIN),
            ],
            noise_groups.clone(),
            Scope::all(),
            3466.0,
            11240.0,
        ),
    ];

    let mut cases = Vec::new();
    for c in &base {
        cases.push(Case {
            name: c.name.to_owned(),
            subject: Subject::new(user, c.roles.clone(), c.groups.clone(), c.scope.clone()),
            action: Action::Read,
            object: object.clone(),
            coder_ns: Some(c.coder_authorize_ns),
        });
    }

    // GroupACL: one more group for the subject, scope all, and an object
    // whose group ACL lists 6 noise groups, every subject group (CRUD) and
    // the allowing group with the checked action only.
    for c in &base {
        let allow_group = ids.uuid();
        let mut groups = c.groups.clone();
        groups.push(allow_group);
        let crud = vec![Action::Create, Action::Read, Action::Update, Action::Delete];
        let noise: [Vec<Action>; 6] = [
            crud.clone(),
            vec![Action::Create, Action::Read, Action::Update],
            vec![Action::Create, Action::Read],
            vec![Action::Create],
            vec![Action::Read, Action::Update, Action::Delete],
            vec![Action::Read, Action::Update],
        ];
        let mut object = object.clone();
        object.acl_group_list = Vec::new();
        for actions in noise {
            object = object.with_group_acl(ids.uuid(), actions);
        }
        for &g in &groups {
            object = object.with_group_acl(g, crud.clone());
        }
        object = object.with_group_acl(allow_group, vec![Action::Assign]);
        cases.push(Case {
            name: format!("{}GroupACL", c.name),
            subject: Subject::new(user, c.roles.clone(), groups, Scope::all()),
            action: Action::Assign,
            object,
            coder_ns: Some(c.coder_groups_ns),
        });
    }

    // ManyOrgs: member + a membership in each of N orgs; an own workspace
    // in the last one.
    for n in [1usize, 5, 10, 50, 100] {
        let orgs: Vec<Uuid> = (0..n).map(|_| ids.uuid()).collect();
        let user = ids.uuid();
        let mut roles = vec![site(roles::MEMBER)];
        for &o in &orgs {
            roles.extend(membership(o));
        }
        let object = Object::new(ResourceType::Workspace)
            .with_id(ids.uuid())
            .in_org(orgs[n - 1])
            .owned_by(user);
        cases.push(Case {
            name: format!("ManyOrgs/orgs={n}"),
            subject: Subject::new(user, roles, Vec::new(), Scope::all()),
            action: Action::Read,
            object,
            coder_ns: None,
        });
    }
    cases
}

/// Median ns per call of `f`, over 7 batches of ~`batch_time` each, after a
/// warm-up.
fn measure<R>(mut f: impl FnMut() -> R, batch_time: Duration) -> f64 {
    // Warm up and estimate.
    let mut iterations = 1u64;
    let per_call = loop {
        let started = Instant::now();
        for _ in 0..iterations {
            black_box(f());
        }
        let elapsed = started.elapsed();
        if elapsed >= Duration::from_millis(20) {
            break elapsed.as_secs_f64() / iterations as f64;
        }
        iterations *= 2;
    };
    let batch = ((batch_time.as_secs_f64() / per_call) as u64).max(1);
    let mut samples: Vec<f64> = (0..7)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            started.elapsed().as_secs_f64() * 1e9 / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn geomean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, count) = values
        .into_iter()
        .fold((0.0, 0u32), |(s, c), v| (s + v.ln(), c + 1));
    (sum / f64::from(count)).exp()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 100.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs the binary
    // without it: then only check that every case agrees, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let batch = if quick {
        Duration::from_micros(200)
    } else {
        Duration::from_millis(10)
    };
    let mut oracle = oracle::Oracle::new();

    println!(
        "| case | allow | warden ns/op | rego (vm) ns/op | rego (interp) ns/op | speedup | subject ns | filter ns | Coder ns/op |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let (mut warden_all, mut rego_all) = (Vec::new(), Vec::new());
    for case in cases() {
        let Case {
            name,
            subject,
            action,
            object,
            coder_ns,
        } = case;
        let input = oracle::input_value(&oracle::input(&subject, action, &object));

        let allow = subject.authorize(action, &object);
        let rego_allow = oracle.allow_value(input.clone());
        let interp_allow = oracle.allow_value_interpreted(input.clone());
        assert_eq!(allow, rego_allow, "{name}: warden and the rego VM disagree");
        assert_eq!(
            allow, interp_allow,
            "{name}: warden and the interpreter disagree"
        );
        let filter = subject.filter(action, ResourceType::Workspace);
        assert_eq!(filter.matches(&object), allow, "{name}: filter disagrees");

        let warden_ns = measure(
            || black_box(&subject).authorize(action, black_box(&object)),
            batch,
        );
        let rego_ns = measure(|| oracle.allow_value(black_box(input.clone())), batch);
        let interp_ns = measure(
            || oracle.allow_value_interpreted(black_box(input.clone())),
            batch,
        );
        let filter_ns = measure(
            || black_box(&subject).filter(action, ResourceType::Workspace),
            batch,
        );
        // Subject compilation from owned parts, cloned outside the timing.
        let (id, roles, groups, scope) = (
            subject.id(),
            subject.roles().to_vec(),
            subject.groups().to_vec(),
            subject.scope().clone(),
        );
        let batch_size = 64;
        let mut compile_ns = f64::INFINITY;
        for _ in 0..if quick { 1 } else { 20 } {
            let parts: Vec<_> = (0..batch_size)
                .map(|_| (roles.clone(), groups.clone(), scope.clone()))
                .collect();
            let started = Instant::now();
            for (r, g, s) in parts {
                black_box(Subject::new(id, r, g, s));
            }
            compile_ns = compile_ns.min(started.elapsed().as_secs_f64() * 1e9 / batch_size as f64);
        }

        println!(
            "| {name} | {} | {} | {} | {} | {:.0}x | {} | {} | {} |",
            if allow { "allow" } else { "deny" },
            fmt_ns(warden_ns),
            fmt_ns(rego_ns),
            fmt_ns(interp_ns),
            rego_ns / warden_ns,
            fmt_ns(compile_ns),
            fmt_ns(filter_ns),
            coder_ns.map_or_else(|| "—".to_owned(), fmt_ns),
        );
        warden_all.push(warden_ns);
        rego_all.push(rego_ns);
    }
    let (warden, rego) = (geomean(warden_all), geomean(rego_all));
    println!();
    println!(
        "rbac geomean: warden {} ns/op, rego {} ns/op, speedup {:.0}x",
        fmt_ns(warden),
        fmt_ns(rego),
        rego / warden
    );
}
