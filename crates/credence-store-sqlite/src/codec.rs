//! How a subject's events are kept: one compact blob per subject, in
//! canonical order. Features always read a whole subject at once, so storing
//! the subject as the unit makes a rescore one sequential read per subject
//! instead of forty index look-ups.
//!
//! Layout: a format byte, then each event as postcard (a stable, documented
//! wire format) without its subject id, which the row already holds.

use credence_domain::{Event, EventBody, EventKey, SubjectId};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

const FORMAT_V1: u8 = 1;

/// Encodes events (already in canonical order).
pub fn encode(events: &[Event], out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    out.push(FORMAT_V1);
    for event in events {
        let stored = (
            &event.key,
            event.occurred_at.as_second(),
            event.recorded_at.as_second(),
            &event.body,
        );
        *out = postcard::to_extend(&stored, std::mem::take(out))
            .map_err(|e| format!("encoding an event: {e}"))?;
    }
    Ok(())
}

/// Decodes a blob into `out` (appending), giving every event `subject`.
pub fn decode(blob: &[u8], subject: &SubjectId, out: &mut Vec<Event>) -> Result<(), String> {
    let Some((&format, mut rest)) = blob.split_first() else {
        return Ok(()); // a subject row created in this transaction, no events yet
    };
    if format != FORMAT_V1 {
        return Err(format!(
            "unknown event blob format {format} for subject {subject}"
        ));
    }
    while !rest.is_empty() {
        let ((key, occurred, recorded, body), tail): ((EventKey, i64, i64, EventBody), &[u8]) =
            postcard::take_from_bytes(rest)
                .map_err(|e| format!("decoding events of subject {subject}: {e}"))?;
        let time =
            |s: i64| Timestamp::from_second(s).map_err(|e| format!("subject {subject}: {e}"));
        out.push(Event {
            key,
            subject_id: subject.clone(),
            occurred_at: time(occurred)?,
            recorded_at: time(recorded)?,
            body,
        });
        rest = tail;
    }
    Ok(())
}

/// A fingerprint of the fact an event states (not when it was recorded), to
/// tell a harmless repeat from a conflicting reuse of an event id.
pub fn fact_digest(event: &Event) -> i64 {
    let fact = (
        &event.subject_id,
        &event.key,
        event.occurred_at.as_second(),
        &event.body,
    );
    let bytes = postcard::to_stdvec(&fact).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}
