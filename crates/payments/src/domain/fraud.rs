//! Fraud scoring: a pure function of the request and a few counts the store provides.
//!
//! Built to be called on every authorization and cheap enough for more than 10,000 scores per
//! second on one core: no allocation, no IO; reasons are a bit set of static names.
//!
//! | reason                    | signal                                                    | points |
//! |---------------------------|-----------------------------------------------------------|--------|
//! | `blocklisted_card`        | the card's hash is on the store's block list              | 100    |
//! | `blocklisted_email`       | the email is on the store's block list                    | 100    |
//! | `velocity_customer`       | ≥ 5 earlier attempts by the customer in 10 minutes (≥ 10: 80) | 50 |
//! | `velocity_card`           | ≥ 5 earlier attempts with the card in 1 hour (≥ 10: 80)   | 50     |
//! | `velocity_ip`             | ≥ 10 earlier attempts from the shopper's public address in 10 minutes (≥ 25: 80) | 50 |
//! | `amount_anomaly`          | > 5 × the median of the store's last 100 authorizations, once there are ≥ 20 | 50 |
//! | `email_domain_disposable` | the email's domain is a known throw-away one              | 30     |
//! | `country_mismatch`        | billing and shipping countries differ                     | 25     |
//!
//! The score is the sum, capped at 100; `block` from 80, `flag` from 50, else `allow`.
//!
//! The address signal counts only public addresses ([`counts_for_velocity`]): a loopback,
//! private or link-local address is a proxy's or a test's, shared by every shopper behind it.
//! Its thresholds are higher than the customer's because households and offices share one.

/// Attempts before a velocity signal counts, and before it blocks on its own.
pub const VELOCITY_FLAG: u32 = 5;
pub const VELOCITY_BLOCK: u32 = 10;
/// Attempts from one address before its signal counts, and before it blocks on its own.
pub const IP_VELOCITY_FLAG: u32 = 10;
pub const IP_VELOCITY_BLOCK: u32 = 25;
/// The customer window and the card window, in milliseconds.
pub const CUSTOMER_WINDOW_MS: i64 = 10 * 60 * 1000;
pub const CARD_WINDOW_MS: i64 = 60 * 60 * 1000;
/// The address window, in milliseconds.
pub const IP_WINDOW_MS: i64 = 10 * 60 * 1000;
/// How many recent authorizations the amount baseline is taken from, and how many it needs.
pub const HISTORY_SIZE: i64 = 100;
pub const HISTORY_MIN: u32 = 20;
/// An amount above this multiple of the median is anomalous.
pub const ANOMALY_FACTOR: i64 = 5;
pub const BLOCK_AT: u8 = 80;
pub const FLAG_AT: u8 = 50;

/// Throw-away email domains; a small built-in list.
pub const DISPOSABLE_DOMAINS: &[&str] = &[
    "mailinator.com",
    "guerrillamail.com",
    "10minutemail.com",
    "tempmail.com",
    "temp-mail.org",
    "yopmail.com",
    "trashmail.com",
    "sharklasers.com",
    "getnada.com",
    "dispostable.com",
    "throwawaymail.com",
    "maildrop.cc",
];

/// The request being scored.
#[derive(Clone, Copy, Debug)]
pub struct FraudInput<'a> {
    pub amount_minor: i64,
    pub email: &'a str,
    pub billing_country: &'a str,
    pub shipping_country: &'a str,
}

/// What the store knows, gathered before scoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FraudStats {
    /// Earlier attempts by this customer in the last 10 minutes (0 without a customer id).
    pub customer_attempts: u32,
    /// Earlier attempts with this card in the last hour.
    pub card_attempts: u32,
    /// Earlier attempts from this public address in the last 10 minutes (0 without one).
    pub ip_attempts: u32,
    /// Successful authorizations in the baseline (at most 100), and their median amount.
    pub history_count: u32,
    pub history_median: i64,
    pub card_blocked: bool,
    pub email_blocked: bool,
}

/// One reason a score went up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    BlocklistedCard = 0,
    BlocklistedEmail = 1,
    VelocityCustomer = 2,
    VelocityCard = 3,
    AmountAnomaly = 4,
    EmailDomainDisposable = 5,
    CountryMismatch = 6,
    VelocityIp = 7,
}

const ALL_REASONS: [Reason; 8] = [
    Reason::BlocklistedCard,
    Reason::BlocklistedEmail,
    Reason::VelocityCustomer,
    Reason::VelocityCard,
    Reason::AmountAnomaly,
    Reason::EmailDomainDisposable,
    Reason::CountryMismatch,
    Reason::VelocityIp,
];

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BlocklistedCard => "blocklisted_card",
            Reason::BlocklistedEmail => "blocklisted_email",
            Reason::VelocityCustomer => "velocity_customer",
            Reason::VelocityCard => "velocity_card",
            Reason::AmountAnomaly => "amount_anomaly",
            Reason::EmailDomainDisposable => "email_domain_disposable",
            Reason::CountryMismatch => "country_mismatch",
            Reason::VelocityIp => "velocity_ip",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        ALL_REASONS.into_iter().find(|r| r.as_str() == s)
    }
}

/// A set of reasons, in the order of the table above.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reasons(u8);

impl Reasons {
    pub fn insert(&mut self, r: Reason) {
        self.0 |= 1 << r as u8;
    }

    pub fn contains(self, r: Reason) -> bool {
        self.0 & (1 << r as u8) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Reason> {
        ALL_REASONS.into_iter().filter(move |r| self.contains(*r))
    }

    /// Comma-separated names, as stored.
    pub fn to_csv(self) -> String {
        self.iter().map(Reason::as_str).collect::<Vec<_>>().join(",")
    }

    /// Reads the stored form back; unknown names are ignored.
    pub fn from_csv(s: &str) -> Reasons {
        let mut set = Reasons::default();
        for r in s.split(',').filter_map(Reason::parse) {
            set.insert(r);
        }
        set
    }
}

/// What scoring decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Proceed, but review.
    Flag,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Flag => "flag",
            Decision::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        Some(match s {
            "allow" => Decision::Allow,
            "flag" => Decision::Flag,
            "block" => Decision::Block,
            _ => return None,
        })
    }

    pub fn for_score(score: u8) -> Decision {
        if score >= BLOCK_AT {
            Decision::Block
        } else if score >= FLAG_AT {
            Decision::Flag
        } else {
            Decision::Allow
        }
    }
}

/// A score from 0 to 100, why, and what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub score: u8,
    pub reasons: Reasons,
    pub decision: Decision,
}

/// Scores one request. Allocation-free.
pub fn score(input: &FraudInput<'_>, stats: &FraudStats) -> Assessment {
    let mut points: u32 = 0;
    let mut reasons = Reasons::default();
    let mut add = |reason: Reason, p: u32| {
        points += p;
        reasons.insert(reason);
    };
    if stats.card_blocked {
        add(Reason::BlocklistedCard, 100);
    }
    if stats.email_blocked {
        add(Reason::BlocklistedEmail, 100);
    }
    if stats.customer_attempts >= VELOCITY_FLAG {
        let p = if stats.customer_attempts >= VELOCITY_BLOCK {
            80
        } else {
            50
        };
        add(Reason::VelocityCustomer, p);
    }
    if stats.card_attempts >= VELOCITY_FLAG {
        let p = if stats.card_attempts >= VELOCITY_BLOCK {
            80
        } else {
            50
        };
        add(Reason::VelocityCard, p);
    }
    if stats.ip_attempts >= IP_VELOCITY_FLAG {
        let p = if stats.ip_attempts >= IP_VELOCITY_BLOCK {
            80
        } else {
            50
        };
        add(Reason::VelocityIp, p);
    }
    if stats.history_count >= HISTORY_MIN
        && stats.history_median > 0
        && input.amount_minor > stats.history_median.saturating_mul(ANOMALY_FACTOR)
    {
        add(Reason::AmountAnomaly, 50);
    }
    if is_disposable(input.email) {
        add(Reason::EmailDomainDisposable, 30);
    }
    if !input.billing_country.is_empty()
        && !input.shipping_country.is_empty()
        && !input.billing_country.eq_ignore_ascii_case(input.shipping_country)
    {
        add(Reason::CountryMismatch, 25);
    }
    let score = points.min(100) as u8;
    Assessment {
        score,
        reasons,
        decision: Decision::for_score(score),
    }
}

/// Whether attempts from `ip` say something about one shopper: not a loopback, private
/// (RFC 1918, IPv6 unique-local), carrier-grade NAT, link-local or unspecified address, which a
/// proxy, a carrier or a test shares between everyone behind it.
pub fn counts_for_velocity(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            // 100.64.0.0/10: carrier-grade NAT, shared by a carrier's subscribers.
            let shared = v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64;
            !(v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || shared)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => counts_for_velocity(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

/// Whether an email's domain is on the built-in throw-away list (case-insensitive).
pub fn is_disposable(email: &str) -> bool {
    match email.rsplit_once('@') {
        Some((_, domain)) => DISPOSABLE_DOMAINS
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain.trim())),
        None => false,
    }
}

/// The median of some amounts (the lower middle for an even count); 0 for none. Sorts in place.
pub fn median(amounts: &mut [i64]) -> i64 {
    if amounts.is_empty() {
        return 0;
    }
    amounts.sort_unstable();
    amounts[(amounts.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(amount_minor: i64) -> FraudInput<'static> {
        FraudInput {
            amount_minor,
            email: "ann@example.com",
            billing_country: "DE",
            shipping_country: "DE",
        }
    }

    #[test]
    fn a_clean_request_scores_zero_and_is_allowed() {
        let a = score(&input(1000), &FraudStats::default());
        assert_eq!((a.score, a.decision), (0, Decision::Allow));
        assert!(a.reasons.is_empty());
    }

    #[test]
    fn a_country_mismatch_alone_is_allowed_but_with_a_disposable_email_it_is_flagged() {
        let mismatch = FraudInput {
            shipping_country: "FR",
            ..input(1000)
        };
        let a = score(&mismatch, &FraudStats::default());
        assert_eq!((a.score, a.decision), (25, Decision::Allow));
        assert_eq!(a.reasons.to_csv(), "country_mismatch");
        let both = FraudInput {
            email: "x@Mailinator.com",
            ..mismatch
        };
        let a = score(&both, &FraudStats::default());
        assert_eq!((a.score, a.decision), (55, Decision::Flag));
        assert_eq!(a.reasons.to_csv(), "email_domain_disposable,country_mismatch");
    }

    #[test]
    fn velocity_flags_at_five_earlier_attempts_and_blocks_at_ten() {
        let stats = |n| FraudStats {
            customer_attempts: n,
            ..Default::default()
        };
        assert_eq!(score(&input(1), &stats(4)).decision, Decision::Allow);
        assert_eq!(score(&input(1), &stats(5)).decision, Decision::Flag);
        assert_eq!(score(&input(1), &stats(10)).decision, Decision::Block);
        let card = FraudStats {
            card_attempts: 10,
            ..Default::default()
        };
        let a = score(&input(1), &card);
        assert_eq!(a.decision, Decision::Block);
        assert!(a.reasons.contains(Reason::VelocityCard));
    }

    #[test]
    fn a_busy_address_flags_at_ten_earlier_attempts_and_blocks_at_twenty_five() {
        let stats = |n| FraudStats {
            ip_attempts: n,
            ..Default::default()
        };
        assert_eq!(score(&input(1), &stats(9)).decision, Decision::Allow);
        let flagged = score(&input(1), &stats(10));
        assert_eq!(flagged.decision, Decision::Flag);
        assert!(flagged.reasons.contains(Reason::VelocityIp));
        assert_eq!(score(&input(1), &stats(25)).decision, Decision::Block);
        assert_eq!(Reason::parse("velocity_ip"), Some(Reason::VelocityIp));
    }

    #[test]
    fn only_public_addresses_count_for_velocity() {
        for public in [
            "203.0.113.7",
            "8.8.8.8",
            "100.128.0.1",
            "2001:db8::1",
            "::ffff:203.0.113.7",
        ] {
            assert!(counts_for_velocity(public.parse().unwrap()), "{public}");
        }
        for shared in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.9",
            "172.16.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.1.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!counts_for_velocity(shared.parse().unwrap()), "{shared}");
        }
    }

    #[test]
    fn an_amount_anomaly_needs_twenty_authorizations_of_history() {
        let history = |count| FraudStats {
            history_count: count,
            history_median: 1000,
            ..Default::default()
        };
        assert_eq!(score(&input(5001), &history(19)).decision, Decision::Allow);
        assert_eq!(score(&input(5000), &history(20)).decision, Decision::Allow);
        let a = score(&input(5001), &history(20));
        assert_eq!((a.score, a.decision), (50, Decision::Flag));
        assert_eq!(a.reasons.to_csv(), "amount_anomaly");
    }

    #[test]
    fn a_block_listed_card_or_email_is_blocked_and_the_score_is_capped_at_one_hundred() {
        let stats = FraudStats {
            card_blocked: true,
            email_blocked: true,
            customer_attempts: 50,
            ..Default::default()
        };
        let a = score(&input(1), &stats);
        assert_eq!((a.score, a.decision), (100, Decision::Block));
        assert_eq!(
            Reasons::from_csv(&a.reasons.to_csv()),
            a.reasons,
            "reasons survive storage"
        );
    }

    #[test]
    fn the_median_is_the_lower_middle() {
        assert_eq!(median(&mut []), 0);
        assert_eq!(median(&mut [5, 1, 3]), 3);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
    }
}
