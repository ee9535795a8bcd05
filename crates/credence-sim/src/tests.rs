use super::*;

fn config() -> SimConfig {
    SimConfig::new(2_000, 7, ts(1_780_000_000))
}

#[test]
fn worlds_are_deterministic_per_seed() {
    let a = simulate_subject(&config(), 42);
    let b = simulate_subject(&config(), 42);
    assert_eq!(a.events, b.events);
    let other_seed = SimConfig {
        seed: 8,
        ..config()
    };
    assert_ne!(simulate_subject(&other_seed, 42).events, a.events);
}

#[test]
fn every_subject_starts_with_its_enrolment_and_stays_in_the_past() {
    let config = config();
    simulate(&config, 0..300, |subject| {
        assert!(is_enrolment(&subject.events[0]));
        assert!(subject.events.iter().all(|e| e.occurred_at <= config.until));
        assert!(
            subject.events[1..]
                .windows(2)
                .all(|w| canonical_order(&w[0], &w[1]).is_le())
        );
        let id = subject_id(subject.index);
        assert!(subject.events.iter().all(|e| e.subject_id.as_str() == id));
    });
}

#[test]
fn the_world_looks_real() {
    let config = config();
    let (mut events, mut orgs, mut defaults, mut rentals) = (0usize, 0, 0, 0);
    let (mut risky_defaults, mut risky, mut safe_defaults, mut safe) = (0, 0, 0, 0);
    simulate(&config, 0..config.subjects, |s| {
        events += s.events.len();
        orgs += usize::from(s.kind == SubjectKind::Organisation);
        defaults += usize::from(s.defaulted_at.is_some());
        rentals += usize::from(
            s.events
                .iter()
                .any(|e| matches!(e.body, EventBody::RentalReturned { .. })),
        );
        if s.latent_risk > 1.0 {
            risky += 1;
            risky_defaults += usize::from(s.defaulted_at.is_some());
        } else if s.latent_risk < -1.0 {
            safe += 1;
            safe_defaults += usize::from(s.defaulted_at.is_some());
        }
    });
    let n = config.subjects as f64;
    let per_subject = events as f64 / n;
    assert!(
        (25.0..60.0).contains(&per_subject),
        "{per_subject} events per subject"
    );
    assert!(
        (0.06..0.15).contains(&(orgs as f64 / n)),
        "organisations {orgs}"
    );
    assert!(
        (0.03..0.25).contains(&(defaults as f64 / n)),
        "defaults {defaults}"
    );
    assert!(rentals > 0);
    let risky_rate = risky_defaults as f64 / risky as f64;
    let safe_rate = safe_defaults as f64 / safe.max(1) as f64;
    assert!(
        risky_rate > 4.0 * safe_rate,
        "risk must drive defaults: {risky_rate} vs {safe_rate}"
    );
}
