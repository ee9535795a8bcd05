//! What a name suggests: the category a column, a custom kind, a custom
//! field or a choice value seems to carry, judged from its name alone.
//!
//! This is the one home of the rule "declarations only tighten". A name is
//! cut into words (at punctuation, at camelCase humps and between letters
//! and digits: `friendId`, `eth_grp`, `GNDR`, `bloodType2`), the words are
//! looked up in a table of terms, synonyms and abbreviations, and the
//! squashed name (`nationalorigin`) is searched for longer stems. A guess
//! is never the source of truth: it only ever makes a declaration
//! stricter, and a declaration that is looser than its name is refused.
//!
//! Each guess is *certain* (the term means that category whatever else the
//! name says: `religion`, `gender`, `blood_type`) or *weak* (a word with an
//! innocent reading too: `union` in `credit_union`, `city`, `social` in
//! `social_security`). A weak guess may be loosened by an explicit override
//! that says why; a certain one never can.

use crate::{Admission, DataCategory};

/// What a name suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameGuess {
    /// The strictest category the name suggests.
    pub category: DataCategory,
    /// The word or stem that suggested it.
    pub term: &'static str,
    /// True when the term means that category whatever the context; a weak
    /// guess can be overridden with a stated reason, a certain one cannot.
    pub certain: bool,
}

impl NameGuess {
    /// The guess in words, for error messages.
    pub fn describe(&self) -> String {
        format!(
            "the name suggests {} (from {:?}){}",
            self.category,
            self.term,
            if self.certain { "" } else { ", a weak guess" }
        )
    }
}

/// How strict a category's admission is: a declaration may only move up.
pub fn strictness(category: DataCategory) -> u8 {
    match category.admission() {
        Admission::Permitted => 0,
        Admission::Restricted => 1,
        Admission::AuditOnly => 2,
        Admission::Prohibited => 3,
    }
}

/// The words of a name, lower case: split at anything but letters and
/// digits, at a lower-to-upper hump (`friendId`), at the end of a run of
/// capitals before a capitalised word (`GPSTrace`) and between letters
/// and digits (`zip5`).
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() {
            let prev = chars[i - 1];
            let next = chars.get(i + 1).copied();
            let hump = prev.is_lowercase() && c.is_uppercase();
            let acronym_end =
                prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase);
            let digit_edge = prev.is_ascii_digit() != c.is_ascii_digit();
            if hump || acronym_end || digit_edge {
                out.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// One row of the table: a category, the words that mean it for certain,
/// the words that only may, and stems searched in the squashed name.
struct Term {
    category: DataCategory,
    certain: &'static [&'static str],
    weak: &'static [&'static str],
    stems: &'static [&'static str],
}

/// Two-word phrases that mean something neither word does alone: checked
/// on adjacent words before the single words.
const PHRASES: &[(&str, &str, DataCategory, bool)] = {
    use DataCategory::*;
    &[
        ("national", "origin", EthnicityOrNationalOrigin, true),
        ("country", "of", Nationality, false),
        ("blood", "type", HealthOrGenetics, true),
        ("breach", "trust", Blacklist, true),
        ("related", "subject", SocialConnections, true),
        ("related", "person", SocialConnections, true),
        ("item", "category", PurchasePurpose, true),
        ("merchant", "category", PurchasePurpose, true),
        ("hours", "per", AppUsage, true),
        ("screen", "time", AppUsage, true),
        ("ext", "source", ThirdPartyScore, true),
        ("credit", "score", ThirdPartyScore, false),
        ("trade", "union", PoliticalOpinion, true),
        ("report", "on", InformantReport, true),
        ("reported", "by", InformantReport, true),
        ("ip", "address", LocationTrace, true),
        ("post", "code", LocationTrace, true),
        ("zip", "code", LocationTrace, true),
        ("home", "address", LocationTrace, true),
        ("date", "of", Age, false),
        ("age", "in", Age, true),
        ("age", "years", Age, true),
        ("age", "group", Age, true),
        ("age", "band", Age, true),
        ("applicant", "age", Age, true),
        ("customer", "age", Age, true),
        ("client", "age", Age, true),
        ("borrower", "age", Age, true),
    ]
};

/// Words that make the next word innocent: `third_party` is not a party,
/// `credit_union` not a trade union.
const DEFUSERS: &[(&str, &str)] = &[
    ("third", "party"),
    ("counter", "party"),
    ("credit", "union"),
];

const TERMS: &[Term] = {
    use DataCategory::*;
    &[
        Term {
            category: Sex,
            certain: &["sex", "gender", "gndr", "male", "female", "sexe"],
            weak: &[],
            stems: &["gender"],
        },
        Term {
            category: MaritalStatus,
            certain: &[
                "marital", "married", "marriage", "spouse", "widowed", "divorced", "mstatus",
                "marst",
            ],
            weak: &[],
            stems: &["marital", "marriage"],
        },
        Term {
            category: Age,
            certain: &["birth", "dob", "birthday", "birthdate", "born", "yob"],
            // "age" alone is weak: `account_age` is a permitted history
            // length. A person's age is caught by the phrases and by the
            // word standing alone.
            weak: &["age", "ages"],
            stems: &["birthdate", "dateofbirth"],
        },
        Term {
            category: Nationality,
            certain: &[
                "nationality",
                "citizenship",
                "citizen",
                "foreign",
                "foreigner",
                "immigrant",
                "immigration",
                "migrant",
                "natl",
            ],
            weak: &["national", "country"],
            stems: &["nationalit", "citizen", "immigra"],
        },
        Term {
            category: EthnicityOrNationalOrigin,
            certain: &[
                "ethnic",
                "ethnicity",
                "eth",
                "ethn",
                "race",
                "racial",
                "caste",
                "tribe",
                "tribal",
                "hukou",
            ],
            weak: &["origin"],
            stems: &["ethnic", "racial", "nationalorigin"],
        },
        Term {
            category: ReligionOrBelief,
            certain: &[
                "religion",
                "religious",
                "relig",
                "belief",
                "beliefs",
                "church",
                "mosque",
                "temple",
                "synagogue",
                "faith",
                "worship",
                "prayer",
                "denomination",
            ],
            weak: &[],
            stems: &["religio", "church", "mosque", "synagog"],
        },
        Term {
            category: PoliticalOpinion,
            certain: &[
                "political",
                "politics",
                "party",
                "vote",
                "votes",
                "voting",
                "voter",
                "petition",
                "protest",
                "activist",
                "activism",
            ],
            weak: &["union", "membership"],
            stems: &["politic"],
        },
        Term {
            category: HealthOrGenetics,
            certain: &[
                "health",
                "medical",
                "medicine",
                "disease",
                "diagnosis",
                "genetic",
                "genome",
                "dna",
                "disability",
                "disabled",
                "pregnancy",
                "pregnant",
                "blood",
                "bmi",
                "illness",
                "hospital",
                "smoker",
                "smoking",
                "hiv",
                "mental",
                "therapy",
            ],
            weak: &["alcohol", "drug", "drugs"],
            stems: &[
                "medic",
                "pregnan",
                "disabilit",
                "genetic",
                "diagnos",
                "bloodtype",
                "hospital",
            ],
        },
        Term {
            category: Biometrics,
            certain: &[
                "biometric",
                "biometrics",
                "fingerprint",
                "facial",
                "iris",
                "retina",
                "voiceprint",
                "faceprint",
            ],
            weak: &["face", "voice"],
            stems: &["biometr", "fingerprint", "faceprint"],
        },
        Term {
            category: SexualLife,
            certain: &["sexual", "orientation", "lgbt", "lgbtq", "gay", "lesbian"],
            weak: &["dating"],
            stems: &["sexual"],
        },
        Term {
            category: SocialMediaContent,
            certain: &[
                "tweet",
                "tweets",
                "followers",
                "likes",
                "weibo",
                "wechat",
                "facebook",
                "instagram",
                "tiktok",
                "twitter",
                "douyin",
            ],
            weak: &["social", "post", "posts", "media"],
            stems: &["follower"],
        },
        Term {
            category: SocialConnections,
            certain: &[
                "friend",
                "friends",
                "contacts",
                "connections",
                "relatives",
                "referrer",
                "cosigner",
                "kin",
            ],
            // A guarantor is a term of the credit contract, not data about
            // another person, so `other_debtors_or_guarantors` is a
            // permitted column; a custom field still may not name one.
            weak: &[
                "network", "relative", "family", "referral", "related", "contact",
            ],
            stems: &["friend"],
        },
        Term {
            category: PurchasePurpose,
            certain: &[
                "purpose",
                "luxury",
                "purchases",
                "mcc",
                "gambling",
                "casino",
                "tobacco",
            ],
            // "book" is not here: `months_on_book` is an account's age.
            weak: &["purchase", "shopping", "item", "items", "goods"],
            stems: &["luxur", "gambl"],
        },
        Term {
            category: LocationTrace,
            certain: &[
                "gps",
                "location",
                "locations",
                "latitude",
                "longitude",
                "lat",
                "lng",
                "lon",
                "geo",
                "geolocation",
                "whereabouts",
                "postcode",
                "postal",
                "zip",
                "zipcode",
                "address",
                "checkin",
                "neighbourhood",
                "neighborhood",
            ],
            // Where someone lives, down to a city, is a location (and a
            // proxy for ethnicity); a region or province is coarse enough
            // to be a lender's segment and is not guessed.
            weak: &["city", "district", "town", "village", "street"],
            stems: &["latitud", "longitud", "postcode", "zipcode", "geoloc"],
        },
        Term {
            category: ThirdPartyScore,
            certain: &["fico", "zhima", "sesame", "vantagescore", "vantage"],
            weak: &["bureau", "external"],
            stems: &["vantagescore", "fico"],
        },
        Term {
            category: Occupation,
            certain: &[
                "occupation",
                "occupational",
                "profession",
                "professional",
                "job",
                "jobs",
                "occ",
            ],
            weak: &["title", "trade"],
            stems: &["occupation", "profession"],
        },
        Term {
            category: Blacklist,
            certain: &[
                "blacklist",
                "blacklisted",
                "dishonest",
                "laolai",
                "shixin",
                "untrustworthy",
                "watchlist",
            ],
            weak: &[],
            stems: &["blacklist", "dishonest", "untrustworth", "breachoftrust"],
        },
        Term {
            category: InformantReport,
            certain: &[
                "informant",
                "tipoff",
                "whistle",
                "whistleblower",
                "snitch",
                "denounce",
                "denunciation",
            ],
            weak: &[],
            stems: &["informant", "whistleblow", "denunciat"],
        },
        Term {
            category: AppUsage,
            certain: &[
                "app",
                "apps",
                "game",
                "games",
                "gaming",
                "videogame",
                "logins",
                "clicks",
                "spending",
                "spend",
                "spent",
            ],
            weak: &["usage", "sessions", "login", "online"],
            stems: &["videogame"],
        },
        Term {
            category: NonCreditConduct,
            certain: &[
                "traffic",
                "violation",
                "violations",
                "jaywalking",
                "speeding",
                "volunteer",
                "volunteering",
                "charity",
                "littering",
                "criminal",
                "crime",
                "arrest",
                "arrests",
                "conviction",
                "police",
            ],
            weak: &["conduct", "fines", "offence", "offense", "donation"],
            stems: &["jaywalk", "volunteer", "criminal"],
        },
        Term {
            category: Income,
            certain: &[
                "income", "salary", "salaries", "wage", "wages", "earnings", "payroll",
            ],
            weak: &[],
            stems: &["salar"],
        },
        Term {
            category: Tax,
            certain: &["tax", "taxes", "taxable"],
            weak: &[],
            stems: &[],
        },
        Term {
            category: Assets,
            certain: &["assets", "wealth", "networth"],
            weak: &["property"],
            stems: &[],
        },
        Term {
            category: Deposits,
            certain: &[],
            weak: &["savings", "deposits"],
            stems: &[],
        },
    ]
};

/// What `name` suggests: the strictest category any of its words, phrases
/// or stems points to (certain before weak at the same strictness), or
/// `None` when nothing in it looks sensitive.
pub fn judge_name(name: &str) -> Option<NameGuess> {
    let words = words(name);
    let squashed: String = words.concat();
    let mut guesses: Vec<NameGuess> = Vec::new();
    for pair in words.windows(2) {
        for &(first, second, category, certain) in PHRASES {
            if pair[0] == first && pair[1] == second {
                guesses.push(NameGuess {
                    category,
                    term: second,
                    certain,
                });
            }
        }
    }
    for (i, word) in words.iter().enumerate() {
        let defused = i > 0
            && DEFUSERS
                .iter()
                .any(|&(before, this)| words[i - 1] == before && word == this);
        if defused {
            continue;
        }
        for term in TERMS {
            if let Some(&found) = term.certain.iter().find(|t| *t == word) {
                guesses.push(NameGuess {
                    category: term.category,
                    term: found,
                    certain: true,
                });
            } else if let Some(&found) = term.weak.iter().find(|t| *t == word) {
                guesses.push(NameGuess {
                    category: term.category,
                    term: found,
                    certain: false,
                });
            }
        }
    }
    for term in TERMS {
        if let Some(&stem) = term.stems.iter().find(|s| squashed.contains(*s)) {
            guesses.push(NameGuess {
                category: term.category,
                term: stem,
                certain: true,
            });
        }
    }
    // A weak word that is the whole name has no other reading to hide
    // behind: a column called `age` is a person's age.
    if let [only] = guesses.as_mut_slice()
        && words.len() == 1
    {
        only.certain = true;
    }
    guesses
        .into_iter()
        .max_by_key(|g| (strictness(g.category), g.certain))
}

/// [`judge_name`]'s category alone.
pub fn guess_category_from_name(name: &str) -> Option<DataCategory> {
    judge_name(name).map(|g| g.category)
}

/// Why a declaration was refused by its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameRefusal {
    /// The name says the thing is something prohibited or protected, for
    /// certain, whatever was declared.
    #[error(
        "{what} is refused: {} — category `{}`: {}",
        .guess.describe(), .guess.category, .guess.category.rule()
    )]
    Prohibited {
        /// What was refused.
        what: String,
        /// What its name suggested.
        guess: NameGuess,
    },
    /// The declaration is looser than the name, and nothing says why.
    #[error(
        "{what} is declared {declared}, but {}; a declaration may only tighten what the name suggests: declare it {} (or stricter), rename it{}",
        .guess.describe(), .guess.category,
        if .guess.certain { "" } else { ", or state why the name misleads with `override = \"…\"`" }
    )]
    Looser {
        /// What was refused.
        what: String,
        /// The declared category.
        declared: DataCategory,
        /// What its name suggested.
        guess: NameGuess,
    },
}

impl NameRefusal {
    /// The category the name suggested.
    pub fn category(&self) -> DataCategory {
        match self {
            Self::Prohibited { guess, .. } | Self::Looser { guess, .. } => guess.category,
        }
    }
}

/// Checks a declared category against what the name suggests: the
/// effective category is the stricter of the two, and a declaration looser
/// than a certain guess is refused. A weak guess gives way only to an
/// `override_reason` (which the caller records where the declaration is
/// shown); a certain guess of a prohibited or protected category is
/// refused even then.
pub fn check_declared(
    what: &str,
    name: &str,
    declared: DataCategory,
    override_reason: Option<&str>,
) -> Result<DataCategory, NameRefusal> {
    let Some(guess) = judge_name(name) else {
        return Ok(declared);
    };
    if strictness(guess.category) <= strictness(declared) {
        return Ok(declared);
    }
    if guess.certain && strictness(guess.category) >= 2 {
        return Err(NameRefusal::Prohibited {
            what: what.to_string(),
            guess,
        });
    }
    let overridden = !guess.certain && override_reason.is_some_and(|r| r.trim().len() >= 10);
    if overridden {
        return Ok(declared);
    }
    Err(NameRefusal::Looser {
        what: what.to_string(),
        declared,
        guess,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataCategory::*;

    fn check(name: &str, expect: Option<DataCategory>) {
        assert_eq!(guess_category_from_name(name), expect, "{name}");
    }

    #[test]
    fn words_split_at_humps_digits_and_punctuation() {
        assert_eq!(words("friendId"), ["friend", "id"]);
        assert_eq!(words("GPSTrace"), ["gps", "trace"]);
        assert_eq!(words("eth_grp"), ["eth", "grp"]);
        assert_eq!(words("zip5-code"), ["zip", "5", "code"]);
        assert_eq!(words("LIMIT_BAL"), ["limit", "bal"]);
    }

    #[test]
    fn synonyms_abbreviations_and_proxies_are_found() {
        check("personal_status_and_sex", Some(Sex));
        check("gndr", Some(Sex));
        check("age_in_years", Some(Age));
        check("AGE", Some(Age));
        assert!(judge_name("AGE").is_some_and(|g| g.certain));
        assert!(judge_name("account_age_months").is_some_and(|g| !g.certain));
        check("foreign_worker", Some(Nationality));
        check("MARRIAGE", Some(MaritalStatus));
        check("religion", Some(ReligionOrBelief));
        check("national_origin", Some(EthnicityOrNationalOrigin));
        check("nationalorigin", Some(EthnicityOrNationalOrigin));
        check("eth_grp", Some(EthnicityOrNationalOrigin));
        check("blood_type", Some(HealthOrGenetics));
        check("bloodType", Some(HealthOrGenetics));
        check("friends_avg_score", Some(SocialConnections));
        check("friendId", Some(SocialConnections));
        check("gps_trace", Some(LocationTrace));
        check("postcode", Some(LocationTrace));
        check("zip_code", Some(LocationTrace));
        check("game_hours_per_day", Some(AppUsage));
        check("luxury_purchases", Some(PurchasePurpose));
        check("job", Some(Occupation));
        check("purpose", Some(PurchasePurpose));
        check("party_membership", Some(PoliticalOpinion));
        check("breach_of_trust_report", Some(Blacklist));
        check("traffic_violation", Some(NonCreditConduct));
        check("salary_reported", Some(Income));
    }

    #[test]
    fn innocent_names_stay_innocent() {
        for name in [
            "credit_amount",
            "duration_in_month",
            "page_views_total_limit",
            "LIMIT_BAL",
            "PAY_AMT1",
            "mortgage_balance",
            "days_late",
            "deposit_returned",
            "third_party_claims",
            "installment_rate_in_percentage_of_disposable_income",
            "number_of_existing_credits_at_this_bank",
            "usage_ratio_of_limit",
            "months_on_book",
            "EDUCATION",
            "BILL_AMT1",
            "status_of_existing_checking_account",
            "savings_account_and_bonds",
            "present_employment_since",
            "other_debtors_or_guarantors",
            "present_residence_since",
            "other_installment_plans",
            "housing",
            "telephone",
        ] {
            let guess = judge_name(name);
            assert!(
                guess.is_none_or(|g| !g.certain || strictness(g.category) < 2),
                "{name}: {guess:?}"
            );
        }
        // "page" contains "age" but is not the word "age".
        check("page_views", None);
        check("credit_union_member", None);
    }

    #[test]
    fn a_declaration_only_tightens() {
        let refused = check_declared(
            "kind \"party_membership\"",
            "party_membership",
            Payment,
            None,
        )
        .expect_err("looser than its name");
        assert_eq!(refused.category(), PoliticalOpinion);
        assert!(refused.to_string().contains("never collected"), "{refused}");
        let refused = check_declared("kind \"salary_paid\"", "salary_paid", Payment, None)
            .expect_err("looser than its name");
        assert!(
            refused.to_string().contains("may only tighten"),
            "{refused}"
        );
        // A certain guess cannot be overridden.
        assert!(
            check_declared("x", "religion", Payment, Some("it is a town's name really")).is_err()
        );
        // A weak one can, with a reason.
        assert!(check_declared("x", "city_code", Application, None).is_err());
        assert_eq!(
            check_declared(
                "x",
                "city_code",
                Application,
                Some("the branch's city, not the subject's")
            ),
            Ok(Application)
        );
        // Declaring stricter than the name is always fine.
        assert_eq!(check_declared("x", "salary", Income, None), Ok(Income));
        assert_eq!(check_declared("x", "amount", Income, None), Ok(Income));
    }
}
