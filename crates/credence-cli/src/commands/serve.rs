//! `credence serve`, `credence keys …`, `credence audit verify`.

use crate::cli::{AuditAction, Global, KeysAction, ServeArgs};
use crate::context;
use anyhow::{Context, Result, anyhow, bail};
use credence_service::SystemClock;
use credence_service::platform::{
    Answering, CheckpointKey, KeySpec, Limits, Platform, Principal, Role,
};
use std::net::SocketAddr;
use std::sync::Arc;

/// Opens the platform over the database the flags name, answering
/// partners as `answering` says (alone only under a serving claim).
pub fn open_platform(
    global: &Global,
    default_db: &str,
    answering: Answering,
) -> Result<Arc<Platform>> {
    let config = context::config(global)?;
    let store = context::open_store(global, default_db, &config)?;
    let platform = Platform::open(
        store,
        &config,
        Arc::new(SystemClock),
        Limits::default(),
        answering,
    )
    .map_err(|e| anyhow!("{e}"))
    .context("starting the platform")?;
    if let Some(key) = context::audit_key(global)? {
        platform
            .checkpoints()
            .sign_with(key)
            .map_err(|e| anyhow!("{e}"))?;
    }
    Ok(Arc::new(platform))
}

pub fn serve(global: &Global, args: &ServeArgs) -> Result<()> {
    let claim = context::Database::from_flags(global, context::DEFAULT_DB)?.claim_for_serving()?;
    let platform = open_platform(global, context::DEFAULT_DB, claim.answering())?;
    run_server(platform, &args.listen, |address| {
        // A closed stderr must not stop the server it announces.
        let _ = errln!(
            "credence: serving on http://{address} (API described at /openapi.json); Ctrl-C stops"
        );
    })
}

/// Serves until Ctrl-C or SIGTERM; `ready` is told the bound address.
pub fn run_server(
    platform: Arc<Platform>,
    listen: &str,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let address: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not an address like 127.0.0.1:8080"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}; is another server running there? pick another with --listen"))?;
        ready(listener.local_addr().unwrap_or(address));
        credence_server::serve(listener, platform, credence_server::shutdown_signal())
            .await
            .context("serving HTTP")
    })
}

pub fn keys(global: &Global, action: &KeysAction) -> Result<()> {
    // Beside any servers: shared.
    let platform = open_platform(global, context::DEFAULT_DB, Answering::Shared)?;
    match action {
        KeysAction::Create {
            role,
            principal,
            label,
        } => {
            let role = Role::from_name(role)
                .ok_or_else(|| anyhow!("--role {role:?} is not operator, furnisher or partner"))?;
            let issued = platform
                .registry()
                .create_key(
                    &Principal::System { name: "cli" },
                    &KeySpec {
                        role,
                        principal: principal.clone(),
                        label: label.clone(),
                    },
                )
                .map_err(|e| anyhow!("{e}"))?;
            outln!("{}", issued.key)?;
            errln!(
                "created {} key {} for {}; it is shown only now, so store it safely",
                role.name(),
                issued.record.id,
                issued.record.principal
            )?;
        }
        KeysAction::List => {
            for key in platform.registry().keys().map_err(|e| anyhow!("{e}"))? {
                outln!(
                    "{}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.role.name(),
                    key.principal,
                    key.revoked_at
                        .map_or("active".to_string(), |t| format!("revoked {t}")),
                    key.label
                )?;
            }
        }
        KeysAction::Revoke { key_id } => {
            let key = platform
                .registry()
                .revoke_key(&Principal::System { name: "cli" }, key_id)
                .map_err(|e| anyhow!("{e}"))?;
            outln!(
                "revoked {} ({} key for {})",
                key.id,
                key.role.name(),
                key.principal
            )?;
        }
    }
    platform.close();
    Ok(())
}

pub fn audit(global: &Global, action: &AuditAction) -> Result<()> {
    let expect_head = match action {
        AuditAction::Verify { expect_head } => expect_head,
        AuditAction::Checkpoint => return write_checkpoint(global),
    };
    let store = context::open_existing_store(global, &context::config(global)?)?;
    let key = match context::audit_key(global)? {
        Some(key) => Some(key),
        None => CheckpointKey::of_database(store.as_ref())
            .map_err(|e| anyhow!("{e}"))
            .context("reading the database's checkpoint key")?,
    };
    let verdict = credence_service::platform::audit::verify(store.as_ref(), key.as_ref())
        .map_err(|e| anyhow!("{e}"))
        .context("reading the audit log")?;
    if !verdict.intact {
        bail!(
            "the audit log is NOT intact after {} good entries: {}",
            verdict.entries,
            verdict.problem.unwrap_or_default()
        );
    }
    if let Some(expected) = expect_head
        && *expected != verdict.head_hash
    {
        bail!(
            "the audit log's {} entries are intact, but its chains end at {} instead of the expected {expected}: entries after that point were cut off or a chain was rebuilt",
            verdict.entries,
            verdict.head_hash
        );
    }
    outln!(
        "audit log intact: {} entries on {} chain{}, head {}",
        verdict.entries,
        verdict.chains.len(),
        if verdict.chains.len() == 1 { "" } else { "s" },
        verdict.head_hash
    )?;
    let checkpoints = &verdict.checkpoints;
    match checkpoints.latest_at {
        Some(latest) => outln!(
            "checkpoints: {} signed with the {} key checked, the newest of {latest}; {} entr{} written since",
            checkpoints.checked,
            if checkpoints.key == "database" {
                "database's"
            } else {
                "given"
            },
            checkpoints.entries_after_latest,
            if checkpoints.entries_after_latest == 1 {
                "y"
            } else {
                "ies"
            },
        )?,
        None => outln!(
            "checkpoints: none signed with the {} key; the chains alone vouch for the log",
            if checkpoints.key == "database" {
                "database's"
            } else {
                "given"
            },
        )?,
    }
    if checkpoints.other_key > 0 {
        outln!(
            "checkpoints: {} signed with another key, not checked",
            checkpoints.other_key
        )?;
    }
    if key.as_ref().is_some_and(|k| !k.is_external()) {
        errln!(
            "credence: checkpoints were checked with the key the database keeps, which whoever can rewrite the log can read; give servers and this check --audit-key-file"
        )?;
    }
    Ok(())
}

/// `credence audit checkpoint`.
fn write_checkpoint(global: &Global) -> Result<()> {
    let platform = open_platform(global, context::DEFAULT_DB, Answering::Shared)?;
    let written = platform
        .checkpoints()
        .write_checkpoint()
        .map_err(|e| anyhow!("{e}"))?;
    platform.close();
    match written {
        Some(place) => outln!(
            "checkpoint written: entry {} of chain {}",
            place.seq,
            place.chain
        )?,
        None => outln!("nothing written since the newest checkpoint; none written")?,
    }
    Ok(())
}
