//! Which callback targets kassa may call: HTTPS to public addresses only (by IANA's registries,
//! `addresses.rs`), checked again after DNS resolution (and at connect time, against DNS
//! rebinding). Sandbox mode, or an explicit allow-list, opens plain HTTP and private addresses for
//! the hosts it names.

use super::addresses::{is_public, not_public};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use url::Url;

/// How long a target's name may take to resolve.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Any scheme of http/https and any address (sandbox mode).
    pub allow_all: bool,
    /// Hosts (names or IP literals) that may use plain HTTP and private addresses.
    pub allowed_hosts: Vec<String>,
}

impl TargetPolicy {
    pub fn sandbox() -> Self {
        Self { allow_all: true, allowed_hosts: Vec::new() }
    }

    fn allows_host(&self, host: &str) -> bool {
        self.allow_all || self.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host.trim_matches(['[', ']'])))
    }

    /// The URL alone: absolute, http(s), HTTPS unless the host is allowed.
    pub fn check_url(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|_| "must be an absolute URL".to_owned())?;
        let host = parsed.host_str().ok_or("must name a host")?.to_owned();
        match parsed.scheme() {
            "https" => {}
            "http" if self.allows_host(&host) => {}
            "http" => return Err("must use https".into()),
            _ => return Err("must be an https URL".into()),
        }
        Ok(parsed)
    }

    /// The URL and where it leads: every address its host resolves to must be public, unless the
    /// host is allowed.
    pub async fn check_resolved(&self, url: &str) -> Result<Url, String> {
        let parsed = self.check_url(url)?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        if self.allows_host(&host) {
            return Ok(parsed);
        }
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| format!("host {host} did not resolve within {} s", LOOKUP_TIMEOUT.as_secs()))?
                .map_err(|e| format!("host {host} does not resolve: {e}"))?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(format!("host {host} does not resolve"));
        }
        match addresses.iter().find_map(|a| not_public(a.ip()).map(|range| (a.ip(), range))) {
            Some((ip, range)) => Err(format!("resolves to {ip}, which is not a public address ({range})")),
            None => Ok(parsed),
        }
    }

    /// A resolver for the outbound client that drops non-public addresses of hosts that are not
    /// allowed, so a name that changes its answer after the check still cannot reach them.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { policy: self.clone() })
    }
}

#[derive(Debug)]
pub struct GuardedResolver {
    policy: TargetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let open = self.policy.allows_host(&host);
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let kept = reachable(open, found);
            if kept.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// What a name's answer leaves to connect to: everything for an allowed host, else its public
/// addresses.
fn reachable(open: bool, found: impl Iterator<Item = SocketAddr>) -> Vec<SocketAddr> {
    found.filter(|a| open || is_public(a.ip())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Targets with literal addresses, both families and every form that embeds IPv4: `None`
    /// passes, `Some(range)` is refused naming the registry's range.
    const TARGETS: &[(&str, Option<&str>)] = &[
        ("https://127.0.0.1/cb", Some("Loopback")),
        ("https://10.1.2.3/cb", Some("Private-Use")),
        ("https://172.31.255.255/cb", Some("Private-Use")),
        ("https://192.168.0.1/cb", Some("Private-Use")),
        ("https://169.254.169.254/latest/meta-data", Some("Link Local")),
        ("https://100.64.0.1/cb", Some("Shared Address Space")),
        ("https://0.0.0.0/cb", Some("\"This host on this network\"")),
        ("https://0.1.2.3/cb", Some("\"This network\"")),
        ("https://192.0.0.8/cb", Some("IPv4 dummy address")),
        ("https://192.0.0.170/cb", Some("NAT64/DNS64 Discovery")),
        ("https://192.0.0.100/cb", Some("IETF Protocol Assignments")),
        ("https://192.0.2.1/cb", Some("Documentation (TEST-NET-1)")),
        ("https://198.19.255.1/cb", Some("Benchmarking")),
        ("https://198.51.100.7/cb", Some("Documentation (TEST-NET-2)")),
        ("https://203.0.113.9/cb", Some("Documentation (TEST-NET-3)")),
        ("https://192.88.99.1/cb", Some("Deprecated (6to4 Relay Anycast)")),
        ("https://240.0.0.1/cb", Some("Reserved")),
        ("https://255.255.255.255/cb", Some("Limited Broadcast")),
        ("https://224.0.0.251/cb", Some("Multicast")),
        ("https://[::1]:8443/cb", Some("Loopback Address")),
        ("https://[::]/cb", Some("Unspecified Address")),
        ("https://[::ffff:127.0.0.1]/cb", Some("IPv4-mapped Address")),
        ("https://[::ffff:169.254.169.254]/cb", Some("IPv4-mapped Address")),
        ("https://[::ffff:0:7f00:1]/cb", Some("IPv4-translated (SIIT)")),
        ("https://[::ffff:0:808:808]/cb", Some("IPv4-translated (SIIT)")),
        ("https://[::127.0.0.1]/cb", Some("IPv4-compatible (deprecated)")),
        ("https://[::8.8.8.8]/cb", Some("IPv4-compatible (deprecated)")),
        ("https://[64:ff9b::7f00:1]/cb", Some("IPv4-IPv6 Translat.")),
        ("https://[64:ff9b::10.0.0.1]/cb", Some("IPv4-IPv6 Translat.")),
        ("https://[64:ff9b:1::808:808]/cb", Some("Local-Use IPv4/IPv6 Translation")),
        ("https://[2002:7f00:1::1]/cb", Some("6to4")),
        ("https://[2002:c0a8:101::1]/cb", Some("6to4")),
        // Teredo: client 127.0.0.1 (inverted: 80ff:fffe) behind server 65.54.227.120.
        ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/cb", Some("TEREDO")),
        // Teredo: client 8.8.8.8 (inverted: f7f7:f7f7) behind server 10.0.0.1.
        ("https://[2001:0:a00:1:8000:63bf:f7f7:f7f7]/cb", Some("TEREDO")),
        ("https://[2001::1]/cb", Some("TEREDO")),
        ("https://[100::1]/cb", Some("Discard-Only Address Block")),
        ("https://[100:0:0:1::1]/cb", Some("Dummy IPv6 Prefix")),
        ("https://[2001:1::4]/cb", Some("IETF Protocol Assignments")),
        ("https://[2001:2::1]/cb", Some("Benchmarking")),
        ("https://[2001:db8::1]/cb", Some("Documentation")),
        ("https://[2001:10::1]/cb", Some("Deprecated (previously ORCHID)")),
        ("https://[3fff::1]/cb", Some("Documentation")),
        ("https://[5f00::1]/cb", Some("Segment Routing (SRv6) SIDs")),
        ("https://[fc00::1]/cb", Some("Unique-Local")),
        ("https://[fd12:3456::1]/cb", Some("Unique-Local")),
        ("https://[fe80::1]/cb", Some("Link-Local Unicast")),
        ("https://[fec0::1]/cb", Some("Site-Local (deprecated)")),
        ("https://[ff02::1]/cb", Some("Multicast")),
        ("https://[4000::1]/cb", Some("Reserved by IETF (outside 2000::/3)")),
        ("https://[::2]/cb", Some("IPv4-compatible (deprecated)")),
        ("https://93.184.216.34/cb", None),
        ("https://1.1.1.1:8443/cb", None),
        ("https://172.32.0.1/cb", None),
        ("https://100.128.0.1/cb", None),
        ("https://192.0.0.9/cb", None),
        ("https://192.88.99.2/cb", None),
        ("https://192.31.196.1/cb", None),
        ("https://[2606:4700:4700::1111]/cb", None),
        ("https://[2001:4860:4860::8888]/cb", None),
        ("https://[::ffff:8.8.8.8]/cb", None),
        ("https://[64:ff9b::808:808]/cb", None),
        ("https://[2002:808:808::1]/cb", None),
        ("https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/cb", None),
        ("https://[2001:1::1]/cb", None),
        ("https://[2001:20::1]/cb", None),
        ("https://[2620:4f:8000::1]/cb", None),
    ];

    #[tokio::test]
    async fn every_special_purpose_range_is_refused_and_public_targets_pass() {
        assert!(TARGETS.len() >= 40);
        let strict = TargetPolicy::default();
        for (url, refused) in TARGETS {
            let checked = strict.check_resolved(url).await;
            match refused {
                None => assert!(checked.is_ok(), "{url}: {checked:?}"),
                Some(range) => {
                    let reason = checked.expect_err(url);
                    assert!(reason.ends_with(&format!("which is not a public address ({range})")), "{url}: {reason}");
                }
            }
            // A name that resolves to the address: the connect-time filter keeps it only when public.
            let ip: IpAddr = Url::parse(url).unwrap().host_str().unwrap().trim_matches(['[', ']']).parse().unwrap();
            let kept = reachable(false, [SocketAddr::new(ip, 443)].into_iter());
            assert_eq!(kept.is_empty(), refused.is_some(), "{url}");
            assert_eq!(reachable(true, [SocketAddr::new(ip, 443)].into_iter()).len(), 1, "{url}: allowed host");
        }
    }

    #[tokio::test]
    async fn strict_policy_refuses_http_and_private_targets() {
        let strict = TargetPolicy::default();
        assert_eq!(strict.check_url("http://example.com/cb").unwrap_err(), "must use https");
        assert!(strict.check_url("ftp://example.com/cb").is_err());
        assert!(strict.check_resolved("https://127.0.0.1/cb").await.unwrap_err().contains("not a public address"));
        assert!(strict.check_resolved("https://[::1]:8443/cb").await.is_err());
        assert!(strict.check_resolved("https://localhost/cb").await.is_err());
        assert!(strict.check_resolved("https://169.254.169.254/latest/meta-data").await.is_err());
        let listed = TargetPolicy { allow_all: false, allowed_hosts: vec!["127.0.0.1".into()] };
        assert!(listed.check_resolved("http://127.0.0.1:9000/cb").await.is_ok());
        assert!(listed.check_resolved("http://10.0.0.1/cb").await.is_err());
        assert!(TargetPolicy::sandbox().check_resolved("http://localhost:1/cb").await.is_ok());
    }
}
