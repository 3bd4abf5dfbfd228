//! `ip("...")` matching: is there an IP address in this text that matches a single
//! address, a range `a-b` or a CIDR prefix? Used by the `|= ip(...)` line filter and the
//! `label = ip(...)` label filter, scanning the text the way Loki does (IPv4/IPv6 hints,
//! then the longest run of address characters).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const IPV4_CHARSET: &[u8] = b"0123456789.";
const IPV6_CHARSET: &[u8] = b"0123456789abcdefABCDEF:.";

/// A compiled `ip("...")` pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IpMatcher {
    /// One address.
    Addr(IpAddr),
    /// `from-to`, inclusive, same family.
    Range(IpAddr, IpAddr),
    /// `addr/bits`.
    Prefix(IpAddr, u8),
}

impl IpMatcher {
    /// Parses a pattern; the error is Loki's text.
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        if let Ok(a) = pattern.parse::<IpAddr>() {
            return Ok(IpMatcher::Addr(a));
        }
        if let Some((addr, bits)) = pattern.split_once('/')
            && let (Ok(a), Ok(b)) = (addr.parse::<IpAddr>(), bits.parse::<u8>())
            && b <= if a.is_ipv4() { 32 } else { 128 }
            && !bits.starts_with('+')
            && (bits == "0" || !bits.starts_with('0'))
        {
            return Ok(IpMatcher::Prefix(a, b));
        }
        if let Some((from, to)) = pattern.split_once('-')
            && let (Ok(f), Ok(t)) = (from.parse::<IpAddr>(), to.parse::<IpAddr>())
            && f.is_ipv4() == t.is_ipv4()
            && f <= t
        {
            return Ok(IpMatcher::Range(f, t));
        }
        Err(format!("ip: invalid pattern: {pattern:?}"))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match *self {
            IpMatcher::Addr(a) => a == ip,
            IpMatcher::Range(f, t) => f.is_ipv4() == ip.is_ipv4() && f <= ip && ip <= t,
            IpMatcher::Prefix(a, bits) => match (a, ip) {
                (IpAddr::V4(a), IpAddr::V4(ip)) => {
                    let mask = mask32(bits);
                    u32::from(a) & mask == u32::from(ip) & mask
                }
                (IpAddr::V6(a), IpAddr::V6(ip)) => {
                    let mask = mask128(bits);
                    u128::from(a) & mask == u128::from(ip) & mask
                }
                _ => false,
            },
        }
    }

    /// True when `text` contains an address this pattern matches.
    pub(crate) fn matches_in(&self, text: &[u8]) -> bool {
        let n = text.len();
        let mut i = 0;
        while i < n {
            if i + 3 < n && ipv4_hint(&text[i..i + 4]) {
                let (ok, len) = self.try_at(text, i, IPV4_CHARSET);
                if ok {
                    return true;
                }
                i += len + 1;
                continue;
            }
            if i + 4 < n && ipv6_hint(&text[i..i + 5]) {
                let (ok, len) = self.try_at(text, i, IPV6_CHARSET);
                if ok {
                    return true;
                }
                i += len + 1;
                continue;
            }
            i += 1;
        }
        false
    }

    fn try_at(&self, text: &[u8], start: usize, charset: &[u8]) -> (bool, usize) {
        let len = text[start..]
            .iter()
            .take_while(|b| charset.contains(b))
            .count();
        let candidate = &text[start..start + len];
        if let Some(ip) = parse_addr(candidate)
            && self.contains(ip)
        {
            return (true, 0);
        }
        (false, len)
    }
}

fn parse_addr(b: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(b).ok()?;
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

fn mask32(bits: u8) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(bits))
    }
}

fn mask128(bits: u8) -> u128 {
    if bits == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(bits))
    }
}

fn ipv4_hint(p: &[u8]) -> bool {
    p[0].is_ascii_digit() && (p[1] == b'.' || p[2] == b'.' || p[3] == b'.')
}

fn ipv6_hint(p: &[u8]) -> bool {
    let h = |b: u8| b.is_ascii_hexdigit();
    (p[0] == b':' && p[1] == b':' && h(p[2]))
        || (h(p[0]) && p[1] == b':')
        || (h(p[0]) && h(p[1]) && p[2] == b':')
        || (h(p[0]) && h(p[1]) && h(p[2]) && p[3] == b':')
        || (h(p[0]) && h(p[1]) && h(p[2]) && h(p[3]) && p[4] == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_range_and_single() {
        let m = IpMatcher::parse("192.168.0.0/16").unwrap();
        assert!(m.matches_in(b"src=192.168.4.5 dst=10.0.0.1"));
        assert!(!m.matches_in(b"src=10.0.0.1"));
        let m = IpMatcher::parse("10.0.0.1-10.0.0.9").unwrap();
        assert!(m.matches_in(b"from 10.0.0.5:80"));
        assert!(!m.matches_in(b"from 10.0.0.10"));
        let m = IpMatcher::parse("203.0.113.7").unwrap();
        assert!(m.matches_in(b"x 203.0.113.7"));
        assert!(!m.matches_in(b"x 203.0.113.70"));
        let m = IpMatcher::parse("2001:db8::/32").unwrap();
        assert!(m.matches_in(b"peer=2001:db8::1 ok"));
        assert!(!m.matches_in(b"peer=2001:db9::1 ok"));
    }

    #[test]
    fn bad_pattern_is_rejected_with_loki_text() {
        assert_eq!(
            IpMatcher::parse("10.0.0"),
            Err(r#"ip: invalid pattern: "10.0.0""#.to_string())
        );
    }
}
