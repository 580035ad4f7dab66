//! Which IP addresses are public, decided by IANA's special-purpose address registries
//! (<https://www.iana.org/assignments/iana-ipv4-special-registry>,
//! <https://www.iana.org/assignments/iana-ipv6-special-registry>, as of 2025), written out below
//! row for row with the registry's "globally reachable" column, plus the few ranges that other
//! registries set apart (multicast, the deprecated site-local and IPv4-compatible forms, and the
//! SIIT "IPv4-translated" form). The most specific row that contains an address decides; an
//! address no row contains is public (IPv4) or public when it is global unicast, `2000::/3`
//! (IPv6: the rest of the space is reserved by the IETF, RFC 4291 and IANA's address space).
//!
//! IPv6 forms that embed an IPv4 address:
//! - judged by the embedded address, because a packet to them goes to that IPv4 host:
//!   IPv4-mapped `::ffff:0:0/96` (a dual-stack socket connects to the IPv4 address itself),
//!   NAT64's well-known prefix `64:ff9b::/96` (DNS64 gives IPv6-only nodes such addresses for
//!   every IPv4-only host, so refusing them would cut those nodes off), 6to4 `2002::/16` (bits
//!   16–47) and Teredo `2001::/32` (the server in bits 32–63 and the client, the inverted last 32
//!   bits: both must be public);
//! - refused outright, because the embedded address cannot be known or nothing routes them:
//!   local-use NAT64 `64:ff9b:1::/48` (the operator picks where the IPv4 address sits, RFC 6052
//!   allows six places), IPv4-translated `::ffff:0:0:0/96` (SIIT-internal, RFC 2765, obsolete)
//!   and IPv4-compatible `::/96` (deprecated by RFC 4291).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a range of the registry says about reaching its addresses.
#[derive(Debug, Clone, Copy)]
pub enum Reach {
    /// Globally reachable: "True" in the registry.
    Global,
    /// Not globally reachable: "False", "N/A" for a form kassa refuses, or a range set apart by
    /// another registry.
    Local,
    /// Reaches the IPv4 addresses it embeds: public when every one of them is.
    Embeds(fn(Ipv6Addr) -> Vec<Ipv4Addr>),
}

/// One row of a registry.
#[derive(Debug)]
pub struct Special<A> {
    pub prefix: A,
    pub len: u8,
    pub name: &'static str,
    pub rfc: &'static str,
    pub reach: Reach,
}

const fn v4(prefix: [u8; 4], len: u8, name: &'static str, rfc: &'static str, reach: Reach) -> Special<Ipv4Addr> {
    Special { prefix: Ipv4Addr::new(prefix[0], prefix[1], prefix[2], prefix[3]), len, name, rfc, reach }
}

const fn v6(prefix: [u16; 8], len: u8, name: &'static str, rfc: &'static str, reach: Reach) -> Special<Ipv6Addr> {
    let [a, b, c, d, e, f, g, h] = prefix;
    Special { prefix: Ipv6Addr::new(a, b, c, d, e, f, g, h), len, name, rfc, reach }
}

use Reach::{Embeds, Global, Local};

/// IANA IPv4 Special-Purpose Address Registry, then multicast (IANA's multicast registry).
pub const IPV4: &[Special<Ipv4Addr>] = &[
    v4([0, 0, 0, 0], 8, "\"This network\"", "RFC 791", Local),
    v4([0, 0, 0, 0], 32, "\"This host on this network\"", "RFC 1122", Local),
    v4([10, 0, 0, 0], 8, "Private-Use", "RFC 1918", Local),
    v4([100, 64, 0, 0], 10, "Shared Address Space", "RFC 6598", Local),
    v4([127, 0, 0, 0], 8, "Loopback", "RFC 1122", Local),
    v4([169, 254, 0, 0], 16, "Link Local", "RFC 3927", Local),
    v4([172, 16, 0, 0], 12, "Private-Use", "RFC 1918", Local),
    v4([192, 0, 0, 0], 24, "IETF Protocol Assignments", "RFC 6890", Local),
    v4([192, 0, 0, 0], 29, "IPv4 Service Continuity Prefix", "RFC 7335", Local),
    v4([192, 0, 0, 8], 32, "IPv4 dummy address", "RFC 7600", Local),
    v4([192, 0, 0, 9], 32, "Port Control Protocol Anycast", "RFC 7723", Global),
    v4([192, 0, 0, 10], 32, "Traversal Using Relays around NAT Anycast", "RFC 8155", Global),
    v4([192, 0, 0, 170], 32, "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050", Local),
    v4([192, 0, 0, 171], 32, "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050", Local),
    v4([192, 0, 2, 0], 24, "Documentation (TEST-NET-1)", "RFC 5737", Local),
    v4([192, 31, 196, 0], 24, "AS112-v4", "RFC 7535", Global),
    v4([192, 52, 193, 0], 24, "AMT", "RFC 7450", Global),
    v4([192, 88, 99, 0], 24, "Deprecated (6to4 Relay Anycast)", "RFC 7526", Local),
    v4([192, 88, 99, 2], 32, "6a44-relay anycast address", "RFC 6751", Global),
    v4([192, 168, 0, 0], 16, "Private-Use", "RFC 1918", Local),
    v4([192, 175, 48, 0], 24, "Direct Delegation AS112 Service", "RFC 7534", Global),
    v4([198, 18, 0, 0], 15, "Benchmarking", "RFC 2544", Local),
    v4([198, 51, 100, 0], 24, "Documentation (TEST-NET-2)", "RFC 5737", Local),
    v4([203, 0, 113, 0], 24, "Documentation (TEST-NET-3)", "RFC 5737", Local),
    v4([240, 0, 0, 0], 4, "Reserved", "RFC 1112", Local),
    v4([255, 255, 255, 255], 32, "Limited Broadcast", "RFC 8190, RFC 919", Local),
    // Not in the special-purpose registry: not unicast at all.
    v4([224, 0, 0, 0], 4, "Multicast", "RFC 5771", Local),
];

/// IANA IPv6 Special-Purpose Address Registry, then the ranges other registries set apart.
pub const IPV6: &[Special<Ipv6Addr>] = &[
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "Loopback Address", "RFC 4291", Local),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "Unspecified Address", "RFC 4291", Local),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, "IPv4-mapped Address", "RFC 4291", Embeds(low_32)),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, "IPv4-IPv6 Translat.", "RFC 6052", Embeds(low_32)),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "Local-Use IPv4/IPv6 Translation", "RFC 8215", Local),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "Discard-Only Address Block", "RFC 6666", Local),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, "Dummy IPv6 Prefix", "RFC 9780", Local),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF Protocol Assignments", "RFC 2928", Local),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "TEREDO", "RFC 4380, RFC 8190", Embeds(teredo)),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 1], 128, "Port Control Protocol Anycast", "RFC 7723", Global),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 2], 128, "Traversal Using Relays around NAT Anycast", "RFC 8155", Global),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 3], 128, "DNS-SD Service Registration Protocol Anycast", "RFC 9665", Global),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "Benchmarking", "RFC 5180", Local),
    v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32, "AMT", "RFC 7450", Global),
    v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48, "AS112-v6", "RFC 7535", Global),
    v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28, "Deprecated (previously ORCHID)", "RFC 4843", Local),
    v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28, "ORCHIDv2", "RFC 7343", Global),
    v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28, "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", Global),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "Documentation", "RFC 3849", Local),
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, "6to4", "RFC 3056", Embeds(six_to_four)),
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, "Direct Delegation AS112 Service", "RFC 7534", Global),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "Documentation", "RFC 9637", Local),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "Segment Routing (SRv6) SIDs", "RFC 9602", Local),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "Unique-Local", "RFC 4193, RFC 8190", Local),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "Link-Local Unicast", "RFC 4291", Local),
    // Not in the special-purpose registry.
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible (deprecated)", "RFC 4291", Local),
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96, "IPv4-translated (SIIT)", "RFC 2765", Local),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "Site-Local (deprecated)", "RFC 3879", Local),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "Multicast", "RFC 4291", Local),
];

/// Global unicast, `2000::/3`: IPv6 outside it and every row above is reserved.
const GLOBAL_UNICAST: Special<Ipv6Addr> = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3, "Global Unicast", "RFC 4291", Global);

fn low_32(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    vec![Ipv4Addr::from(u128::from(ip) as u32)]
}

/// 6to4 (`2002:AABB:CCDD::/48`): the IPv4 address is bits 16–47.
fn six_to_four(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    vec![Ipv4Addr::from((u128::from(ip) >> 80) as u32)]
}

/// Teredo (`2001:0:SSSS:SSSS:flags:port:CCCC:CCCC`): the server, and the client's address with
/// every bit inverted.
fn teredo(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let bits = u128::from(ip);
    vec![Ipv4Addr::from((bits >> 64) as u32), Ipv4Addr::from(!(bits as u32))]
}

fn contains_v4(row: &Special<Ipv4Addr>, ip: Ipv4Addr) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(row.len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(row.prefix) & mask
}

fn contains_v6(row: &Special<Ipv6Addr>, ip: Ipv6Addr) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(row.len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(row.prefix) & mask
}

/// The most specific row of `table` that contains the address.
fn most_specific<A>(
    table: &'static [Special<A>],
    contains: impl Fn(&Special<A>) -> bool,
) -> Option<&'static Special<A>> {
    table.iter().filter(|row| contains(row)).max_by_key(|row| row.len)
}

/// The registry row that decides about `ip` (None: an ordinary public IPv4 address).
pub fn special_v4(ip: Ipv4Addr) -> Option<&'static Special<Ipv4Addr>> {
    most_specific(IPV4, |row| contains_v4(row, ip))
}

/// The registry row that decides about `ip` (global unicast when no special row contains it).
pub fn special_v6(ip: Ipv6Addr) -> &'static Special<Ipv6Addr> {
    static OUTSIDE: Special<Ipv6Addr> =
        v6([0, 0, 0, 0, 0, 0, 0, 0], 0, "Reserved by IETF (outside 2000::/3)", "RFC 4291", Local);
    most_specific(IPV6, |row| contains_v6(row, ip)).unwrap_or(if contains_v6(&GLOBAL_UNICAST, ip) {
        &GLOBAL_UNICAST
    } else {
        &OUTSIDE
    })
}

/// Whether kassa may call `ip`: globally reachable by the registries, and for a form that embeds
/// IPv4 addresses, every one of them is.
pub fn is_public(ip: IpAddr) -> bool {
    not_public(ip).is_none()
}

/// Why kassa may not call `ip`: the name of the registry's range that says so (for a form that
/// embeds IPv4 addresses, the form's), or None for a public address.
pub fn not_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4).filter(|row| !matches!(row.reach, Global)).map(|row| row.name),
        IpAddr::V6(v6) => {
            let row = special_v6(v6);
            match row.reach {
                Global => None,
                Local => Some(row.name),
                Embeds(embedded) => embedded(v6).into_iter().any(|v4| !is_public(IpAddr::V4(v4))).then_some(row.name),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_a_clean_prefix_and_listed_once() {
        for row in IPV4 {
            assert!(row.len <= 32 && contains_v4(row, row.prefix), "{row:?}");
            let mask = u32::MAX.checked_shl(32 - u32::from(row.len)).unwrap_or(0);
            assert_eq!(u32::from(row.prefix) & !mask, 0, "host bits set in {row:?}");
            assert_eq!(IPV4.iter().filter(|r| r.prefix == row.prefix && r.len == row.len).count(), 1, "{row:?}");
        }
        for row in IPV6 {
            let mask = u128::MAX.checked_shl(128 - u32::from(row.len)).unwrap_or(0);
            assert_eq!(u128::from(row.prefix) & !mask, 0, "host bits set in {row:?}");
            assert_eq!(IPV6.iter().filter(|r| r.prefix == row.prefix && r.len == row.len).count(), 1, "{row:?}");
        }
    }

    #[test]
    fn the_embedded_addresses_are_where_each_form_puts_them() {
        let ip = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        assert_eq!(low_32(ip("::ffff:127.0.0.1")), [Ipv4Addr::LOCALHOST]);
        assert_eq!(six_to_four(ip("2002:c000:0204::1")), [Ipv4Addr::new(192, 0, 2, 4)]);
        // RFC 4380's example: server 65.54.227.120, client 192.0.2.45 behind port 40000.
        assert_eq!(
            teredo(ip("2001:0:4136:e378:8000:63bf:3fff:fdd2")),
            [Ipv4Addr::new(65, 54, 227, 120), Ipv4Addr::new(192, 0, 2, 45)]
        );
    }
}
